"""Readings in the face teacher's space: what a predicted feature holds before any decoder draws it.

The side-by-side table judges face *images*. A voice row's predicted
feature can also be read directly, so that what the decoder loses is a
number: `FeatureReader` is fitted on the training faces' teacher features
against what the image instruments read from those same training faces (a
logistic regression for gender, a ridge for age), and gives, for any
features, readings shaped like the instruments' own
({'gender', 'age', 'embedding'}; the embedding is the feature itself), so
`side_by_side.clip_scores` scores them against the true faces exactly as it
scores images. Only meaningful where the teacher is the identity
instrument's own space (dlib128), as it is in the real-pairs table.
"""

import numpy as np

GENDER_C = 1.0  # Inverse L2 strength of the gender logistic regression.
AGE_ALPHA = 1.0  # Ridge strength of the age regression.


def _unit(x):
  x = np.asarray(x, np.float64)
  return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class FeatureReader:
  """Gender and age read from teacher features, learnt from training faces.

  Features are L2-normalised first (the identity instrument compares
  directions), so a prediction's shrinkage toward the mean does not by
  itself change its reading.
  """

  def __init__(self, features, genders, ages):
    """features: (n, dim) training faces' teacher features; genders: (n,)
    labels the image instrument read from those faces; ages: (n,) years."""
    from sklearn import linear_model  # pylint: disable=g-import-not-at-top
    x = _unit(features)
    labels = np.asarray(genders)
    self.classes = sorted(set(labels.tolist()))
    if len(self.classes) < 2:
      raise ValueError("FeatureReader needs training faces of both genders")
    self.gender = linear_model.LogisticRegression(
        C=GENDER_C, max_iter=2000).fit(x, labels)
    self.age = linear_model.Ridge(alpha=AGE_ALPHA).fit(
        x, np.asarray(ages, np.float64))

  def read(self, features):
    """{'gender': labels, 'age': years, 'embedding': features} of (n, dim)
    features."""
    x = _unit(features)
    return {"gender": list(self.gender.predict(x)),
            "age": list(self.age.predict(x)),
            "embedding": np.asarray(features, np.float64)}
