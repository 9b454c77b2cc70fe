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
  speaker's true face than to a random other speaker's (chance 50 %), over
  all pairs and with the other speaker of the same gender.
"""

import numpy as np

from s2f_tf.metrics import retrieval

MATCHING_CHANCE = 50.0


def _cosine(a, b):
  a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
  b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
  return np.sum(a * b, axis=-1)


def matching_1to2(reconstructed, true, speaker_ids, groups=None, seed=0):
  """1:2 matching accuracy (%), ties counted as half.

  For each reconstruction i, a random clip j of another speaker (of the same
  `groups` label, e.g. gender, when given) is drawn; the trial is won when
  cos(rec_i, true_i) > cos(rec_i, true_j).
  """
  rng = np.random.RandomState(seed)
  reconstructed = np.asarray(reconstructed, np.float64)
  true = np.asarray(true, np.float64)
  wins, trials = 0.0, 0
  for i in range(len(true)):
    candidates = [j for j in range(len(true))
                  if speaker_ids[j] != speaker_ids[i] and
                  (groups is None or groups[j] == groups[i])]
    if not candidates:
      continue
    j = candidates[rng.randint(len(candidates))]
    own = _cosine(reconstructed[i], true[i])
    other = _cosine(reconstructed[i], true[j])
    wins += 1.0 if own > other else (0.5 if own == other else 0.0)
    trials += 1
  return {"accuracy": 100.0 * wins / trials if trials else float("nan"),
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
      "matching": matching_1to2(reconstructed, true, speaker_ids, seed=seed)}
  if genders is not None:
    result["matching_same_gender"] = matching_1to2(
        reconstructed, true, speaker_ids, genders, seed=seed)
  return result
