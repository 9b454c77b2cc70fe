"""dlib face detection and the one-face crop that VGG-Face sees (Sec. 3).

Detection: dlib's CNN (MMOD) detector, `mmod_human_face_detector.dat` from
the `face-recognition-models` package, as the paper; dlib's HOG detector as a
fast fallback. Choosing the face: nearest the given face centre (AVSpeech
gives one per clip), else the largest, unless a second face is nearly as
large (ambiguous speaker). Crop: a square around the box enlarged by
`CROP_MARGIN`, padded by edge replication at image borders, resized to
224 x 224.
"""

import collections

import cv2
import numpy as np

from tfrecords_schema import face_teacher


CROP_SIZE = face_teacher.FACE_SIZE  # Crops are resized to this.
CROP_MARGIN = 0.3  # Square side = (1 + margin) x the box side; WORKSPACE.md.
MIN_FACE_PIXELS = 50  # Faces with a smaller box side are skipped as tiny.
# A second face at least this fraction of the largest one's area makes the
# speaker ambiguous when no face centre is given.
AMBIGUOUS_AREA_RATIO = 0.5
# Detection runs on frames scaled so the longer side is at most this.
MAX_DETECT_SIDE = 640
# Image upsamplings before detection. dlib's MMOD window is 80 px, so 0 finds
# faces >= ~80 px on the (<= 640 px) frame; 1 finds ~40 px at 4x the cost.
DEFAULT_UPSAMPLE = 0
# HOG detections below this SVM score are dropped (dlib's default is 0, which
# lets through weak false positives that look like a second face).
HOG_SCORE_THRESHOLD = 0.5

Box = collections.namedtuple("Box", "left top right bottom score")
# 'cnn': dlib's MMOD CNN (the paper's); 'hog': the fast frontal detector;
# 'hog_cnn': HOG, and the CNN only where HOG finds no face (HOG misses turned
# and cut-off faces: 15 % of the project page's frames, all of which the CNN
# finds, at 14x HOG's cost per image).
KINDS = ("cnn", "hog", "hog_cnn")


class FaceError(ValueError):
  """A frame that cannot give one usable face; `reason` names why."""

  reason = "face_error"


class NoFaceError(FaceError):
  reason = "no_face"


class SeveralFacesError(FaceError):
  reason = "several_faces"


class TinyFaceError(FaceError):
  reason = "tiny_face"


class CentreOutsideFaceError(FaceError):
  """The dataset's face centre is in no detected face: not the speaker's."""

  reason = "centre_outside_face"


def model_path(name):
  """Path of a dlib model file shipped by the face-recognition-models package."""
  try:
    import face_recognition_models  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise RuntimeError(
        "dlib's model files come from the PyPI package "
        "'face-recognition-models': pip install face-recognition-models") from e
  import os  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(face_recognition_models.__file__),
                      "models", name)


class FaceDetector:
  """dlib face detector ('cnn' as the paper, or 'hog')."""

  def __init__(self, kind="cnn", upsample=DEFAULT_UPSAMPLE):
    import dlib  # pylint: disable=g-import-not-at-top
    if kind not in KINDS:
      raise ValueError(f"detector must be one of {', '.join(KINDS)}, not "
                       f"{kind!r}")
    self.kind = kind
    self.upsample = upsample
    if kind == "hog_cnn":
      self._first = FaceDetector("hog", upsample)
      self._fallback = FaceDetector("cnn", upsample)
    elif kind == "cnn":
      self._detector = dlib.cnn_face_detection_model_v1(
          model_path("mmod_human_face_detector.dat"))
    else:
      self._detector = dlib.get_frontal_face_detector()

  def detect(self, rgb):
    """All faces in an RGB uint8 image, as Boxes in its pixel coordinates."""
    if self.kind == "hog_cnn":
      return self._first.detect(rgb) or self._fallback.detect(rgb)
    scale = min(1.0, MAX_DETECT_SIDE / float(max(rgb.shape[:2])))
    small = rgb if scale == 1.0 else cv2.resize(
        rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    boxes = []
    if self.kind == "cnn":
      for d in self._detector(small, self.upsample):
        r = d.rect
        boxes.append(Box(r.left() / scale, r.top() / scale,
                         r.right() / scale, r.bottom() / scale,
                         float(d.confidence)))
    else:
      rects, scores, _ = self._detector.run(small, self.upsample,
                                            HOG_SCORE_THRESHOLD)
      for r, s in zip(rects, scores):
        boxes.append(Box(r.left() / scale, r.top() / scale,
                         r.right() / scale, r.bottom() / scale, float(s)))
    return boxes


def _area(box):
  return max(box.right - box.left, 0) * max(box.bottom - box.top, 0)


def choose_face(boxes, image_shape, centre=None,
                min_face_pixels=MIN_FACE_PIXELS):
  """The speaker's face among `boxes`, or a FaceError saying why none.

  Args:
    boxes: detections (Box) in pixels.
    image_shape: (height, width, ...) of the frame.
    centre: optional (x, y) face centre normalised to [0, 1] (AVSpeech CSV).
    min_face_pixels: smaller boxes (side in pixels) are tiny.
  """
  if not boxes:
    raise NoFaceError("no face detected")
  height, width = image_shape[:2]
  if centre is not None:
    cx, cy = centre[0] * width, centre[1] * height
    box = min(boxes, key=lambda b: ((b.left + b.right) / 2 - cx) ** 2 +
              ((b.top + b.bottom) / 2 - cy) ** 2)
    if not (box.left <= cx <= box.right and box.top <= cy <= box.bottom):
      raise CentreOutsideFaceError(
          f"the given face centre ({cx:.0f}, {cy:.0f}) px is inside none of "
          f"the {len(boxes)} detected faces (nearest {box.left:.0f}, "
          f"{box.top:.0f}, {box.right:.0f}, {box.bottom:.0f})")
  else:
    ranked = sorted(boxes, key=_area, reverse=True)
    box = ranked[0]
    if len(ranked) > 1 and _area(ranked[1]) >= AMBIGUOUS_AREA_RATIO * _area(
        box):
      raise SeveralFacesError(
          f"{len(boxes)} faces of similar size and no face centre given")
  side = min(box.right - box.left, box.bottom - box.top)
  if side < min_face_pixels:
    raise TinyFaceError(f"face box side {side:.0f} px < {min_face_pixels} px")
  return box


def crop_face(rgb, box, margin=CROP_MARGIN, size=CROP_SIZE):
  """Square crop around `box` enlarged by `margin`, resized to size x size."""
  cx, cy = (box.left + box.right) / 2.0, (box.top + box.bottom) / 2.0
  half = max(box.right - box.left, box.bottom - box.top) * (1 + margin) / 2
  x0, y0 = int(round(cx - half)), int(round(cy - half))
  x1, y1 = int(round(cx + half)), int(round(cy + half))
  height, width = rgb.shape[:2]
  pad = max(0, -x0, -y0, x1 - width, y1 - height)
  if pad:
    rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
  crop = rgb[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
  return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA
                    if crop.shape[0] > size else cv2.INTER_LINEAR)


def normalized_box(box, image_shape):
  """(x0, y0, x1, y1) of `box` in [0, 1] image coordinates."""
  height, width = image_shape[:2]
  return (max(box.left, 0) / width, max(box.top, 0) / height,
          min(box.right, width) / width, min(box.bottom, height) / height)
