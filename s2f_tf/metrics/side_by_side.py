"""Face sets judged against the true faces by independent instruments, with speaker-bootstrap intervals.

A row is one face image per test clip (s2f's, the paper's published ones,
a constant face, shuffled predictions). Instruments read every image: the
CC0 gender and age networks (`attributes`) and dlib's 128-D recognizer
(`face_descriptor`). `clip_scores` turns one row's readings into per-clip
scores; `summarize` gives each metric with a 95 % interval from resampling
*speakers* with replacement (clips of one speaker are not independent).

Metrics (each clip's image against its own speaker's true face):
- gender agreement: the gender the network reads from the image equals the
  one it reads from the true face (chance 50 %); `label_gender` also
  against a labelled gender (VoxCeleb's meta);
- age: Pearson r and mean absolute error between the two age readings;
- cosine of the two dlib-128 descriptors;
- R@K in galleries of 100 (the paper's Table 3 protocol, one clip per
  speaker; chance K %): the image's descriptor ranks the gallery's true
  faces; each query's expected hit over `num_galleries` random galleries,
  ties counted at random in expectation;
- 1:2 matching (Wen et al., NeurIPS 2019; chance 50 %): the fraction of
  other speakers' true faces that are farther from the image than its own
  true face, over all other speakers and over those of the same gender.
"""

import numpy as np

from s2f_tf.metrics import identity
from s2f_tf.metrics import retrieval

GALLERY_SIZE = 100  # Table 3's protocol (its chance row is 1/2/5/10 %).
RECALL_KS = (1, 5, 10)
NUM_GALLERIES = 20  # Random galleries per query.
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95
CHANCE = {"gender_agreement": 50.0, "age_r": 0.0, "r_at_1": 1.0,
          "r_at_5": 5.0, "r_at_10": 10.0, "matching": 50.0,
          "matching_same_gender": 50.0, "labelled_gender_agreement": 50.0}
METRICS = ("gender_agreement", "labelled_gender_agreement", "age_r",
           "age_mae", "cosine", "r_at_1", "r_at_5", "r_at_10", "matching",
           "matching_same_gender")


def _normalize(x):
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def query_clips(speakers):
  """Indices of the first clip of each speaker (the gallery protocol's one
  clip per speaker), in order."""
  seen, out = set(), []
  for i, s in enumerate(speakers):
    if s not in seen:
      seen.add(s)
      out.append(i)
  return np.asarray(out, np.int64)


def gallery_hits(similarity, ks=RECALL_KS, gallery_size=GALLERY_SIZE,
                 num_galleries=NUM_GALLERIES, seed=0):
  """Expected recall@K per query of a (q, q) similarity matrix whose
  diagonal holds each query's own true face; galleries are the own face and
  `gallery_size` - 1 random others (all others when there are fewer).
  Returns {k: (q,) expected hits in [0, 1]}."""
  similarity = np.asarray(similarity, np.float64)
  q = len(similarity)
  rng = np.random.RandomState(seed)
  others = min(gallery_size, q) - 1
  hits = {k: np.zeros(q) for k in ks}
  for i in range(q):
    pool = np.delete(np.arange(q), i)
    own = similarity[i, i]
    for _ in range(num_galleries):
      chosen = rng.choice(pool, others, replace=False) if others < len(
          pool) else pool
      row = similarity[i, chosen]
      closer, tied = np.sum(row > own), np.sum(row == own)
      for k in ks:
        hits[k][i] += retrieval.expected_hits(closer, tied, k)
  return {k: v / num_galleries for k, v in hits.items()}


def clip_scores(row, true, speakers, label_gender=None, seed=0,
                gallery_size=GALLERY_SIZE, num_galleries=NUM_GALLERIES):
  """Per-clip scores of one row.

  Args:
    row, true: {'gender': (n,) labels, 'age': (n,) years, 'embedding':
      (n, 128)} read from the row's images and from the true faces.
    speakers: (n,) speaker ids.
    label_gender: (n,) labelled genders ('male' / 'female' / None).
    seed: gallery sampling seed.

  Returns:
    {name: (n,) float array, NaN where the score does not apply}: the
    per-clip terms of every metric, plus 'age_row' / 'age_true' for r.
  """
  n = len(speakers)
  scores = {
      "gender_agreement": 100.0 * (np.asarray(row["gender"]) ==
                                   np.asarray(true["gender"])),
      "age_row": np.asarray(row["age"], np.float64),
      "age_true": np.asarray(true["age"], np.float64),
      "age_mae": np.abs(np.asarray(row["age"], np.float64) -
                        np.asarray(true["age"], np.float64)),
      "cosine": np.sum(_normalize(row["embedding"]) *
                       _normalize(true["embedding"]), axis=-1),
  }
  labelled = np.full(n, np.nan)
  if label_gender is not None:
    for i, label in enumerate(label_gender):
      if label:
        labelled[i] = 100.0 * (row["gender"][i] == label)
  scores["labelled_gender_agreement"] = labelled
  queries = query_clips(speakers)
  similarity = (_normalize(np.asarray(row["embedding"])[queries]) @
                _normalize(np.asarray(true["embedding"])[queries]).T)
  for name in ("r_at_1", "r_at_5", "r_at_10", "matching",
               "matching_same_gender"):
    scores[name] = np.full(n, np.nan)
  hits = gallery_hits(similarity, RECALL_KS, gallery_size, num_galleries,
                      seed)
  for k in RECALL_KS:
    scores[f"r_at_{k}"][queries] = 100.0 * hits[k]
  scores["matching"][queries] = 100.0 * identity.matching_scores(similarity)
  true_gender = [true["gender"][i] for i in queries]
  scores["matching_same_gender"][queries] = 100.0 * identity.matching_scores(
      similarity, groups=true_gender)
  return scores


def _statistic(scores, name, index):
  if name == "age_r":
    x, y = scores["age_row"][index], scores["age_true"][index]
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
      return np.nan
    return float(np.corrcoef(x, y)[0, 1])
  values = scores[name][index]
  values = values[~np.isnan(values)]
  return float(np.mean(values)) if len(values) else np.nan


def _speaker_draws(speakers, samples, seed):
  """`samples` resamplings of the speakers with replacement, each drawn
  speaker bringing all its clips: lists of clip indices."""
  speakers = np.asarray(speakers)
  unique = sorted(set(speakers.tolist()))
  clips_of = {s: np.flatnonzero(speakers == s) for s in unique}
  rng = np.random.RandomState(seed)
  return [np.concatenate([clips_of[unique[j]] for j in
                          rng.randint(len(unique), size=len(unique))])
          for _ in range(samples)]


def summarize(scores, speakers, samples=BOOTSTRAP_SAMPLES, seed=0,
              confidence=CONFIDENCE):
  """{metric: {'value', 'low', 'high', 'n'}}: each metric on all clips and
  its percentile interval over `samples` resamplings of the speakers (with
  replacement, each drawn speaker bringing all its clips)."""
  draws = _speaker_draws(speakers, samples, seed)
  out = {}
  for name in METRICS:
    if ("age_row" if name == "age_r" else name) not in scores:
      continue
    counted = scores["age_row"] if name == "age_r" else scores[name]
    out[name] = _interval(scores, name, draws, confidence, counted)
  return out


def _interval(scores, name, draws, confidence, counted):
  """{'value', 'low', 'high', 'n'}: metric `name` on all clips and its
  percentile interval over the speaker resamplings `draws`; n counts the
  clips where `counted` is defined."""
  value = _statistic(scores, name, np.arange(len(counted)))
  boot = np.asarray([_statistic(scores, name, d) for d in draws])
  boot = boot[~np.isnan(boot)]
  tail = 100.0 * (1.0 - confidence) / 2.0
  return {"value": _finite_or_none(value),
          "low": float(np.percentile(boot, tail)) if len(boot) else None,
          "high": float(np.percentile(boot, 100 - tail)) if len(boot) else
                  None,
          "n": int(np.sum(~np.isnan(counted)))}


def paired_difference(scores, baseline, speakers, name,
                      samples=BOOTSTRAP_SAMPLES, seed=0,
                      confidence=CONFIDENCE):
  """Row minus baseline on the same clips: {'value', 'low', 'high', 'n'}.

  Both rows' per-clip scores of metric `name` (not 'age_r') are averaged
  over the same speaker resamplings, so the interval is that of the
  difference itself (two rows' overlapping intervals cannot say whether
  one beats the other). A low end above 0 means the row beats the baseline.
  """
  diff = (np.asarray(scores[name], np.float64) -
          np.asarray(baseline[name], np.float64))
  return _interval({name: diff}, name,
                   _speaker_draws(speakers, samples, seed), confidence, diff)


def _finite_or_none(value):
  """JSON has no NaN: an undefined metric (e.g. the age r of a constant
  face) is None."""
  return None if value is None or not np.isfinite(value) else float(value)


def excludes(summary, name, value):
  """True when the interval of `name` lies entirely above `value`."""
  entry = summary.get(name)
  return bool(entry) and entry["low"] is not None and entry["low"] > value
