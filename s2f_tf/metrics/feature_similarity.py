"""Table 2: angle, L2 and L1 between predicted and true VGG-Face features.

The paper reports mean +- std over 5,000 random test pairs (speech clip, its
true face). Angles are scale-free; L2 and L1 are given in both scales, since
the paper does not state its normalisation (WORKSPACE.md): 'l2' / 'l1' on
L2-normalised features, 'l2_raw' / 'l1_raw' on the raw fc7 values.
"""

import numpy as np

NUM_PAIRS = 5000  # Sec. 5.


def _unit(x):
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def pairwise_terms(predicted, true, normalize=True):
  """Per-pair {'angle_deg', 'l2', 'l1'} arrays for rows of equal index."""
  predicted = np.asarray(predicted, np.float64)
  true = np.asarray(true, np.float64)
  cosine = np.clip(np.sum(_unit(predicted) * _unit(true), -1), -1.0, 1.0)
  if normalize:
    predicted, true = _unit(predicted), _unit(true)
  diff = predicted - true
  return {"angle_deg": np.degrees(np.arccos(cosine)),
          "l2": np.linalg.norm(diff, axis=-1),
          "l1": np.abs(diff).sum(-1)}


def sample_pairs(count, num_pairs=NUM_PAIRS, seed=0):
  """Indices of `num_pairs` random test pairs (all if fewer)."""
  rng = np.random.RandomState(seed)
  if count <= num_pairs:
    return np.arange(count)
  return np.sort(rng.choice(count, num_pairs, replace=False))


def feature_similarity(predicted, true, num_pairs=NUM_PAIRS, seed=0):
  """Table 2 row: {'angle_deg': (mean, std), 'l2', 'l1' (unit vectors),
  'l2_raw', 'l1_raw' (raw features), 'pairs'}."""
  index = sample_pairs(len(predicted), num_pairs, seed)
  predicted, true = np.asarray(predicted)[index], np.asarray(true)[index]
  terms = pairwise_terms(predicted, true, normalize=True)
  raw = pairwise_terms(predicted, true, normalize=False)
  terms.update(l2_raw=raw["l2"], l1_raw=raw["l1"])
  row = {name: (float(v.mean()), float(v.std())) for name, v in terms.items()}
  row["pairs"] = int(len(index))
  return row
