"""The real-pairs side-by-side table as text: its columns, rows, paired sentences and notes.

Renders the result dict of `real_pairs.run` / `real_pairs.paper_rows`
(rows, row_labels, chance, paired) as Markdown for the README and the
binaries, and gives the report its rows and notes; it computes nothing.
"""

COLUMNS = (("gender_agreement", "gender agreement %"),
           ("age_r", "age r"), ("age_mae", "age MAE (years)"),
           ("cosine", "dlib-128 cosine"),
           ("r_at_1", "R@1 %"), ("r_at_5", "R@5 %"), ("r_at_10", "R@10 %"),
           ("matching", "1:2 %"), ("matching_same_gender", "1:2 same gender %"),
           ("labelled_gender_agreement", "VoxCeleb labelled gender %"))
PAIRED_TITLES = {"gender_agreement": "gender agreement",
                 "matching": "1:2 matching"}

TABLE_ORDER = ("s2f", "compare", "paper", "constant", "shuffled", "control",
               "s2f_avspeech", "paper_avspeech",
               "f2f", "f2f_jpeg", "f2f_small", "paper_f2f", "s2f_feature",
               "compare_feature", "control_feature", "true_feature")
CHANCE_MARK = "°"  # The 95 % interval includes chance.


def _cell(entry, chance):
  if entry is None or entry["value"] is None:
    return "–"
  if entry["low"] is None:
    return f"{entry['value']:.2f}"
  digits = 2 if abs(entry["value"]) < 2 else 1
  text = (f"{entry['value']:.{digits}f} [{entry['low']:.{digits}f}, "
          f"{entry['high']:.{digits}f}]")
  if chance is not None and entry["low"] <= chance <= entry["high"]:
    text += CHANCE_MARK
  return text


def table_rows(result):
  """(header, rows) of the side-by-side table: each metric with its 95 %
  interval, the chance row last."""
  header = ["faces"] + [title for _, title in COLUMNS]
  rows = []
  for name in TABLE_ORDER:
    if name not in result["rows"]:
      continue
    stats = result["rows"][name]
    label = result["row_labels"][name]
    if name == "s2f":
      label += f" [{result.get('encoder', '?')} encoder, {result['teacher']}]"
    elif name == "compare":
      label += f" [{result.get('compare_encoder', '?')} encoder]"
    elif name == "f2f":
      label += f" [{result['teacher']}]"
    elif name == "s2f_avspeech":
      label += (f" [{result.get('avspeech_clips', '?')} clips of "
                f"{result.get('avspeech_speakers', '?')} speakers]")
    rows.append([label] + [
        _cell(stats.get(key), result["chance"].get(key)) for key, _ in
        COLUMNS])
  rows.append(["chance"] + [
      (f"{result['chance'][key]:g}" if key in result["chance"] else "–")
      for key, _ in COLUMNS])
  return header, rows


def paired_lines(result):
  """One sentence per paired comparison: 's2f minus a constant face, gender
  agreement: +7.5 points [2.1, 12.9]: above'."""
  lines, labels = [], result["row_labels"]
  for key, metrics in result.get("paired", {}).items():
    row, baseline = key.split("-")
    for metric, entry in metrics.items():
      if entry["value"] is None or entry["low"] is None:
        continue
      verdict = ("s2f is above" if entry["low"] > 0 else
                 "s2f is below" if entry["high"] < 0 else
                 "the interval includes 0")
      lines.append(
          f"{labels[row].split(' (')[0]} minus "
          f"{labels[baseline].split(' (')[0]}, "
          f"{PAIRED_TITLES[metric]}: {entry['value']:+.1f} points "
          f"[{entry['low']:+.1f}, {entry['high']:+.1f}] ({verdict})")
  return lines


def markdown_table(result):
  """The side-by-side table as Markdown (README), then the paired
  differences."""
  header, rows = table_rows(result)
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  paired = paired_lines(result)
  if paired:
    lines += ["", "Paired, same clips and speaker resamplings (95 %):"]
    lines += [f"- {line}" for line in paired]
  return "\n".join(lines)


NOTES = (
    "Every row is judged on face images by the same instruments: the CC0 "
    "dlib-models gender and age networks and dlib's 128-D recognizer, each "
    "image against the true face of its own clip. The true face is the "
    "project page's real frame (Face_ori).",
    "Gender / age: agreement of the gender read from the face with the "
    "gender read from the true face (chance 50 %); Pearson r and mean "
    "absolute error of the two age readings.",
    "Identity: cosine of dlib-128 descriptors; R@K: the face ranks the true "
    "faces of a gallery of 100 speakers, one clip each (Table 3's protocol, "
    "chance K %); 1:2: the face is closer to its own speaker's true face "
    "than to another speaker's (all others, or those of the same gender; "
    "chance 50 %).",
    "s2f's face teacher is dlib128 — the same network as the identity "
    "instrument — so s2f's cosine, R@K and 1:2 are measured in its "
    "teacher's own space; the paper's faces come from VGG-Face and are "
    "judged in a space they were not trained for. Gender and age use "
    "networks that took no part in either.",
    "Brackets: 95 % interval from 1,000 bootstrap resamplings of speakers; "
    f"{CHANCE_MARK} marks an interval that includes chance.",
    "Face -> face rows decode the true face's feature: they bound what each "
    "decoder can show, not what the voice carries.",
    "The linear control is a ridge regression from the voice's 64-band "
    "log-mel mean and std to the training faces' dlib128 features, decoded "
    "by s2f's decoder: the floor a trained voice encoder should beat.",
    "Teacher-space rows read the predicted dlib128 feature itself, before "
    "any decoder: gender and age by a logistic regression and a ridge "
    "fitted on the training faces' features against what the instruments "
    "read from those faces; R@K, 1:2 and cosine against the true faces' "
    "features. s2f's image row minus its feature row is what its decoder "
    "loses.",
    "Paired lines: s2f's score minus a baseline's on the same clips, with "
    "the interval of that difference over the same speaker resamplings; "
    "above 0 means s2f beats the baseline.",
)
