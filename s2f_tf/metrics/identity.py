"""Identity metrics from an independent face recognizer (the paper reports none).

Later work (e.g. Wen et al., NeurIPS 2019) judges speech-to-face models by a
face recognizer that took no part in training. s2f uses dlib's 128-D face
ResNet (`face-recognition-models`; ROC AUC 1.00 on the labelled pairs of
`../shared/data/faces`), run on the S2F reconstruction and on the speaker's
true face crop:
- mean cosine similarity of the two embeddings;
- recall@K: each reconstruction ranks the true faces of a 100-identity
  gallery (`retrieval.gallery_table3`, cosine);
- 1:2 matching (Wen et al.): the reconstruction must be closer to its own
  speaker's true face than to another speaker's (chance 50 %), averaged
  over every other speaker's face (`matching_scores`), and over those of
  the same gender.
"""

import numpy as np

from s2f_tf.metrics import retrieval

MATCHING_CHANCE = 50.0


def _cosine(a, b):
  a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
  b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
  return np.sum(a * b, axis=-1)


def matching_scores(similarity, *, speaker_ids=None, groups=None, own=None):
  """The 1:2 matching test (Wen et al., NeurIPS 2019), per query: the
  fraction of impostors whose true face is less similar to the query's
  image than its own true face is (ties count half); NaN where there is no
  impostor. s2f's one 1:2 rule: the report and the real-pairs table both
  average it.

  Args:
    similarity: (q, n) cosine of query i's image to true face j.
    speaker_ids: (n,) the true faces' speakers: impostors are other
      speakers' faces (default: every other column).
    groups: (n,) labels (e.g. gender): impostors share the query's label.
    own: (q,) the column of each query's own true face (default i).
  """
  similarity = np.asarray(similarity, np.float64)
  q, n = similarity.shape
  own = np.arange(q) if own is None else np.asarray(own)
  out = np.full(q, np.nan)
  for i in range(q):
    j = own[i]
    if speaker_ids is None:
      mask = np.arange(n) != j
    else:
      mask = np.asarray([s != speaker_ids[j] for s in speaker_ids])
    if groups is not None:
      mask &= np.asarray([g == groups[j] for g in groups])
    if not mask.any():
      continue
    row, mine = similarity[i, mask], similarity[i, j]
    out[i] = np.mean((row < mine) + 0.5 * (row == mine))
  return out


MATCHING_BLOCK = 1024  # Queries per similarity block (memory O(block x n)).


def matching_1to2(reconstructed, true, speaker_ids, groups=None):
  """1:2 matching accuracy (%) over every clip: `matching_scores` of each
  reconstruction against all other speakers' true faces, averaged."""
  reconstructed = np.asarray(reconstructed, np.float64)
  true = np.asarray(true, np.float64)
  true_unit = true / np.maximum(np.linalg.norm(true, axis=-1, keepdims=True),
                                1e-12)
  scores = []
  for start in range(0, len(true), MATCHING_BLOCK):
    block = reconstructed[start:start + MATCHING_BLOCK]
    block = block / np.maximum(np.linalg.norm(block, axis=-1, keepdims=True),
                               1e-12)
    scores.append(matching_scores(
        block @ true_unit.T, speaker_ids=speaker_ids, groups=groups,
        own=np.arange(start, start + len(block))))
  scores = np.concatenate(scores) if scores else np.zeros(0)
  trials = int(np.sum(~np.isnan(scores)))
  return {"accuracy": 100.0 * float(np.nanmean(scores)) if trials else
                      float("nan"),
          "chance": MATCHING_CHANCE, "trials": trials}


def identity_metrics(reconstructed, true, speaker_ids, genders=None, seed=0,
                     gallery_size=retrieval.GALLERY_SIZE,
                     num_galleries=retrieval.NUM_GALLERIES):
  """All identity metrics of recognizer embeddings (reconstruction, true face).

  Returns {'mean_cosine', 'recall' (gallery table, cosine), 'matching',
  ['matching_same_gender']}.
  """
  reconstructed = np.asarray(reconstructed, np.float64)
  true = np.asarray(true, np.float64)
  result = {
      "mean_cosine": float(np.mean(_cosine(reconstructed, true))),
      "recall": retrieval.gallery_table3(reconstructed, true, speaker_ids,
                                         gallery_size, num_galleries,
                                         seed=seed, metrics=("cosine",)),
      "matching": matching_1to2(reconstructed, true, speaker_ids)}
  if genders is not None:
    result["matching_same_gender"] = matching_1to2(
        reconstructed, true, speaker_ids, genders)
  return result
