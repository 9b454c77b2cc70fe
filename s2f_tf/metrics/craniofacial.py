"""Fig. 5: craniofacial measures on F2F and S2F reconstructions, Pearson r.

Measures follow Merler et al., "Diversity in Faces" (arXiv 1901.10436, Sec.
4.2), which defines them on anthropometric points (Farkas 1994) located with
the 68-point layout. Each row of `MEASURES` gives the measure, how it is
computed from dlib's 68 points (0-based indices), and the anthropometric
definition it approximates. Point names: n nasion, sn subnasale, al alare,
en/ex endo-/exocanthion, ch cheilion, ls/li labrale superius/inferius, sto
stomion, gn gnathion, go gonion, zy zygion. Lengths are in pixels of the
decoder's aligned 224 x 224 frame (identical for F2F and S2F).
"""

import warnings

import numpy as np
import scipy.stats


def _p(points, i):
  return points[..., i, :]


def _stomion(points):
  return (_p(points, 62) + _p(points, 66)) / 2.0


def _distance(a, b):
  return np.linalg.norm(a - b, axis=-1)


def _d(i, j):
  return lambda p: _distance(_p(p, i), _p(p, j))


def _polygon_area(points, indices):
  xy = points[..., list(indices), :]
  x, y = xy[..., 0], xy[..., 1]
  return 0.5 * np.abs(np.sum(x * np.roll(y, -1, -1) - y * np.roll(x, -1, -1),
                             axis=-1))


# (name, function of (..., 68, 2) landmarks, anthropometric definition)
MEASURES = (
    ("upper_lip_height", lambda p: _distance(_p(p, 33), _stomion(p)),
     "sn-sto"),
    ("lateral_upper_lip_height_left", _d(31, 50), "sbal-cph (left)"),
    ("lateral_upper_lip_height_right", _d(35, 52), "sbal-cph (right)"),
    ("jaw_width", _d(4, 12), "go-go"),
    ("nose_height", _d(27, 33), "n-sn"),
    ("nose_width", _d(31, 35), "al-al"),
    ("labio_oral_region", _d(33, 57), "sn-li (lips and philtrum)"),
    ("mandibular_index", lambda p: 100.0 * _distance(_stomion(p), _p(p, 8)) /
     _d(4, 12)(p), "100 (sto-gn)/(go-go)"),
    ("intercanthal_index", lambda p: 100.0 * _d(39, 42)(p) / _d(36, 45)(p),
     "100 (en-en)/(ex-ex)"),
    ("nasal_index", lambda p: 100.0 * _d(31, 35)(p) / _d(27, 33)(p),
     "100 (al-al)/(n-sn)"),
    ("vermilion_height_index", lambda p: _distance(_p(p, 51), _stomion(p)) /
     np.maximum(_distance(_stomion(p), _p(p, 57)), 1e-6), "(ls-sto)/(sto-li)"),
    ("mouth_face_width_index", lambda p: 100.0 * _d(48, 54)(p) / _d(0, 16)(p),
     "100 (ch-ch)/(zy-zy)"),
    ("nose_area", lambda p: _polygon_area(p, (27, 31, 32, 33, 34, 35)),
     "area of n-al-sn-al polygon"),
)
MEASURE_NAMES = tuple(name for name, _, _ in MEASURES)


def measures(points):
  """{name: (...,) values} of every measure for (..., 68, 2) landmarks."""
  points = np.asarray(points, np.float64)
  return {name: fn(points) for name, fn, _ in MEASURES}


def _pearson(a, b):
  """(r, p), or (None, None) where r is undefined (a constant input, or
  fewer than 3 samples)."""
  if len(a) < 3:
    return None, None
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)
    r, p = scipy.stats.pearsonr(a, b)
  if not np.isfinite(r):
    return None, None
  return float(r), float(p)


def correlations(f2f_points, s2f_points, seed=0):
  """Per measure: Pearson r and p between F2F and S2F, and a random-pair r.

  The random-pair baseline correlates F2F with S2F of a shuffled order (the
  paper's "random" row: faces and voices of different people). r and p are
  None where a measure is constant over the samples (r is undefined).
  """
  f2f, s2f = measures(f2f_points), measures(s2f_points)
  order = np.random.RandomState(seed).permutation(len(f2f_points))
  result = {}
  for name in MEASURE_NAMES:
    r, p = _pearson(f2f[name], s2f[name])
    r_random, _ = _pearson(f2f[name], s2f[name][order])
    result[name] = {"r": r, "p": p, "random_r": r_random}
  return result
