"""Checks loaded VGG-Face weights against outside references before use.

Two references in ../shared/data/faces: `master.csv`, labelled same/different
person pairs (a verification ROC AUC of cosine similarity), and
`face-recognition-pivot.csv`, the cosine distances deepface's own VGG-Face
gave for pairs of the same photos (a rank correlation). Released weights
loaded correctly separate identities (AUC well above 0.5) and order pairs
like deepface's model does; a mis-loaded kernel (transposed, wrong channel
order, wrong preprocessing) drops both towards chance.
"""

import csv
import os

import numpy as np
import scipy.stats
from sklearn import metrics

from s2f_tf.faces import face_detector
from s2f_tf import media

MIN_AUC = 0.9
MIN_SPEARMAN = 0.6


def read_pairs(path, distance_column=None):
  """[(file_x, file_y, same, reference distance or None)] from a pairs CSV."""
  pairs = []
  with open(path, newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
      decision = (row.get("Decision") or row.get("decision") or "").strip()
      reference = float(row[distance_column]) if distance_column else None
      pairs.append((os.path.basename(row["file_x"]),
                    os.path.basename(row["file_y"]), decision == "Yes",
                    reference))
  return pairs


def features(names, faces_dir, detector, fc7_fn):
  """{file name: fc7} for every photo whose face is found (others skipped)."""
  out = {}
  for name in sorted(set(names)):
    rgb = media.read_image(os.path.join(faces_dir, name))
    boxes = detector.detect(rgb)
    if not boxes:
      continue
    box = max(boxes, key=lambda b: (b.right - b.left) * (b.bottom - b.top))
    out[name] = np.asarray(fc7_fn(face_detector.crop_face(rgb, box)[None]))[0]
  return out


def _cosine_distance(a, b):
  return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def check(fc7_fn, faces_dir, detector, max_pairs=0):
  """{'auc', 'verification_pairs', 'spearman', 'reference_pairs', 'passed'}."""
  verification = read_pairs(os.path.join(faces_dir, "master.csv"))
  reference = read_pairs(os.path.join(faces_dir,
                                      "face-recognition-pivot.csv"),
                         "VGG-Face_cosine")
  if max_pairs:
    verification, reference = verification[:max_pairs], reference[:max_pairs]
  names = [n for p in verification + reference for n in p[:2]]
  found = features(names, faces_dir, detector, fc7_fn)
  usable = [p for p in verification if p[0] in found and p[1] in found]
  labels = [p[2] for p in usable]
  similarity = [-_cosine_distance(found[p[0]], found[p[1]]) for p in usable]
  auc = float(metrics.roc_auc_score(labels, similarity)) if len(
      set(labels)) == 2 else float("nan")
  usable_ref = [p for p in reference if p[0] in found and p[1] in found]
  ours = [_cosine_distance(found[p[0]], found[p[1]]) for p in usable_ref]
  spearman = float(scipy.stats.spearmanr(ours, [p[3] for p in usable_ref])[0]
                  ) if len(usable_ref) > 2 else float("nan")
  return {"auc": auc, "verification_pairs": len(usable),
          "spearman": spearman, "reference_pairs": len(usable_ref),
          "passed": bool(auc >= MIN_AUC and spearman >= MIN_SPEARMAN)}
