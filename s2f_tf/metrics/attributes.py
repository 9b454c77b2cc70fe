"""Fig. 4: age / gender / ethnicity agreement between true faces and reconstructions.

The paper used a commercial classifier; s2f uses open models run offline
through OpenCV's DNN module, from local files (never downloaded):
- age and gender: Levi & Hassner, "Age and Gender Classification using
  CNNs" (CVPRW 2015) Caffe models: `deploy_age.prototxt`, `age_net.caffemodel`,
  `deploy_gender.prototxt`, `gender_net.caffemodel` (GilLevi/AgeGenderDeepLearning).
- ethnicity (optional): FairFace's ResNet-34 (Karkkainen & Joo, WACV 2021)
  exported to ONNX as `fairface.onnx` (7 race classes first in its output).
Any object with `classify(images) -> {attribute: [label, ...]}` can be used;
the metric code below is independent of the classifier.
"""

import os

import cv2
import numpy as np

AGE_CLASSES = ("0-2", "4-6", "8-13", "15-20", "25-32", "38-43", "48-53",
               "60-100")
GENDER_CLASSES = ("male", "female")
ETHNICITY_CLASSES = ("white", "black", "latino_hispanic", "east_asian",
                     "southeast_asian", "indian", "middle_eastern")
_LEVI_HASSNER_MEAN_BGR = (78.4263377603, 87.7689143744, 114.895847746)
_FAIRFACE_MEAN = (0.485, 0.456, 0.406)
_FAIRFACE_STD = (0.229, 0.224, 0.225)

DOWNLOAD_HELP = (
    "Attribute models not found in {path!r}. s2f does not download them. Put "
    "the Levi & Hassner Caffe files deploy_age.prototxt, age_net.caffemodel, "
    "deploy_gender.prototxt and gender_net.caffemodel (github.com/GilLevi/"
    "AgeGenderDeepLearning, models/) there, and optionally fairface.onnx "
    "(FairFace ResNet-34, github.com/dchen236/FairFace, exported to ONNX).")


class OpenCvAttributeClassifier:
  """Levi-Hassner age/gender (+ FairFace ethnicity) with cv2.dnn."""

  def __init__(self, model_dir):
    files = ("deploy_age.prototxt", "age_net.caffemodel",
             "deploy_gender.prototxt", "gender_net.caffemodel")
    paths = [os.path.join(model_dir, f) for f in files]
    if not all(os.path.isfile(p) for p in paths):
      raise FileNotFoundError(DOWNLOAD_HELP.format(path=model_dir))
    self._age = cv2.dnn.readNetFromCaffe(paths[0], paths[1])
    self._gender = cv2.dnn.readNetFromCaffe(paths[2], paths[3])
    fairface = os.path.join(model_dir, "fairface.onnx")
    self._ethnicity = cv2.dnn.readNetFromONNX(fairface) if os.path.isfile(
        fairface) else None

  def classify(self, images_rgb):
    """{'age': [...], 'gender': [...], ('ethnicity': [...])} per image."""
    bgr = [cv2.cvtColor(np.asarray(i, np.uint8), cv2.COLOR_RGB2BGR)
           for i in images_rgb]
    blob = cv2.dnn.blobFromImages(bgr, 1.0, (227, 227),
                                  _LEVI_HASSNER_MEAN_BGR, swapRB=False)
    self._age.setInput(blob)
    self._gender.setInput(blob)
    out = {"age": [AGE_CLASSES[i] for i in self._age.forward().argmax(1)],
           "gender": [GENDER_CLASSES[i]
                      for i in self._gender.forward().argmax(1)]}
    if self._ethnicity is not None:
      rgb = [cv2.resize(np.asarray(i, np.uint8), (224, 224)).astype(
          np.float32) / 255.0 for i in images_rgb]
      x = (np.stack(rgb) - _FAIRFACE_MEAN) / _FAIRFACE_STD
      self._ethnicity.setInput(x.transpose(0, 3, 1, 2).astype(np.float32))
      logits = self._ethnicity.forward()[:, :len(ETHNICITY_CLASSES)]
      out["ethnicity"] = [ETHNICITY_CLASSES[i] for i in logits.argmax(1)]
    return out


def confusion_matrix(true_labels, predicted_labels, classes):
  """counts[i, j] = how often true class i was classified as class j."""
  index = {c: i for i, c in enumerate(classes)}
  counts = np.zeros((len(classes), len(classes)), np.int64)
  for t, p in zip(true_labels, predicted_labels):
    counts[index[t], index[p]] += 1
  return counts


def row_normalize(counts):
  """Each row divided by its sum (rows with no samples stay zero)."""
  counts = np.asarray(counts, np.float64)
  sums = counts.sum(axis=1, keepdims=True)
  return np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)


def agreement(true_labels, predicted_labels):
  true_labels, predicted_labels = list(true_labels), list(predicted_labels)
  return float(np.mean([t == p for t, p in zip(true_labels,
                                               predicted_labels)]))


CLASSES = {"age": AGE_CLASSES, "gender": GENDER_CLASSES,
           "ethnicity": ETHNICITY_CLASSES}


def agreement_from_labels(on_true, on_reconstruction, classes=None):
  """Per attribute: classes, counts, row-normalised confusion, agreement.

  `on_true` / `on_reconstruction`: {attribute: [label, ...]} for the same
  samples in the same order. Rows are the attribute of the true face image,
  columns that of the reconstruction (the paper's Fig. 4 layout).
  """
  classes = classes or CLASSES
  result = {}
  for attribute, true_labels in on_true.items():
    counts = confusion_matrix(true_labels, on_reconstruction[attribute],
                              classes[attribute])
    result[attribute] = {
        "classes": list(classes[attribute]),
        "counts": counts.tolist(),
        "confusion": row_normalize(counts).tolist(),
        "agreement": agreement(true_labels, on_reconstruction[attribute]),
        "true_distribution": {c: int(n) for c, n in zip(
            classes[attribute], counts.sum(1))}}
  return result


def attribute_agreement(classifier, true_images, reconstructions,
                        classes=None):
  """`agreement_from_labels` of `classifier` run on both image sets."""
  return agreement_from_labels(classifier.classify(true_images),
                               classifier.classify(reconstructions), classes)
