"""dlib's 128-D ResNet face descriptor: the dlib128 face teacher and the identity instrument.

dlib's `dlib_face_recognition_resnet_model_v1` (from `face-recognition-models`;
ROC AUC 1.00 on the labelled pairs of `../shared/data/faces`) on the largest
HOG face of an image, aligned by dlib's own 5-point shape predictor. The same
recipe serves as s2f's offline face teacher (`face_teacher.DLIB128`) and as
the independent recognizer of the identity metrics.

`network="keras"` runs the descriptor network as s2f's Keras copy
(`models/dlib_resnet.py`, dlib's weights; its descriptors equal dlib's to
~4e-7) on dlib's own chips, batched: ~9x faster on 2 CPU cores than
dlib's one-chip-at-a-time network. The data jobs' teacher uses it; the
identity instrument keeps dlib's own (`network="dlib"`), independent of
s2f's code.

`crop_margin` makes it the data jobs' teacher: its images are face crops
made by `face_detector.crop_face` with that margin, so the detected face's
box is known (the crop's central square); dlib's 5-point shape is found in
that box, as dlib's own examples do with a detector's box, instead of
running HOG again on the crop (~27 ms a photo on 2 cores; WORKSPACE.md,
"The decoder-data job, 3x").
"""

import numpy as np

from s2f_tf.faces import face_detector

DIM = 128
NETWORKS = ("dlib", "keras")
CHIP_PADDING = 0.25  # dlib's compute_face_descriptor default.
BATCH = 32  # Chips per call of the Keras network.


class DlibFaceEmbedder:
  """RGB images -> (n, 128) dlib face-recognition embeddings.

  Args:
    network: 'dlib' (dlib's C++ network) or 'keras' (s2f's copy, batched).
    crop_margin: None (find the face with HOG), or the margin of the face
      crops it is given (their face is the central square).
  """

  def __init__(self, network="dlib", crop_margin=None):
    if network not in NETWORKS:
      raise ValueError(f"network must be one of {NETWORKS}, not {network!r}")
    import dlib  # pylint: disable=g-import-not-at-top
    self._dlib = dlib
    self._keras = self._net = None
    self._crop_margin = crop_margin
    self._detector = dlib.get_frontal_face_detector()
    self._shape = dlib.shape_predictor(face_detector.model_path(
        "shape_predictor_5_face_landmarks.dat"))
    if network == "keras":  # One copy of the network: the Keras one.
      from s2f_tf.models import dlib_resnet  # pylint: disable=g-import-not-at-top
      from s2f_tf.models import dlib_resnet_weights  # pylint: disable=g-import-not-at-top
      self._keras = dlib_resnet_weights.load(dlib_resnet.build())
      self._chip_size = dlib_resnet.CHIP_SIZE
    else:
      self._net = dlib.face_recognition_model_v1(face_detector.model_path(
          "dlib_face_recognition_resnet_model_v1.dat"))

  def shape(self, rgb):
    """dlib's 5-point shape of the largest HOG face of an RGB uint8 image
    (the whole image when none: aligned reconstructions); of a face crop's
    central square with `crop_margin`."""
    if self._crop_margin is not None:
      height, width = rgb.shape[:2]
      half_w = width / (1 + self._crop_margin) / 2
      half_h = height / (1 + self._crop_margin) / 2
      return self._shape(rgb, self._dlib.rectangle(
          int(round(width / 2 - half_w)), int(round(height / 2 - half_h)),
          int(round(width / 2 + half_w)) - 1,
          int(round(height / 2 + half_h)) - 1))
    rects = self._detector(rgb, 1)
    rect = max(rects, key=lambda r: r.area()) if len(rects) else \
        self._dlib.rectangle(0, 0, rgb.shape[1] - 1, rgb.shape[0] - 1)
    return self._shape(rgb, rect)

  def embed(self, images_rgb, shapes=None):
    """Largest HOG face of each image (the whole image when none: aligned
    reconstructions), dlib's own 5-point alignment, 128-D descriptor.
    `shapes`: the images' 5-point shapes when already found (`shape`)."""
    out = []
    for index, image in enumerate(images_rgb):
      rgb = np.ascontiguousarray(np.asarray(image, np.uint8))
      shape = shapes[index] if shapes is not None else self.shape(rgb)
      if self._keras is not None:
        out.append(self._dlib.get_face_chip(rgb, shape, self._chip_size,
                                            CHIP_PADDING))
      else:
        out.append(np.asarray(self._net.compute_face_descriptor(rgb, shape)))
    if not out:
      return np.zeros((0, DIM), np.float32)
    if self._keras is not None:
      chips = np.stack(out).astype(np.float32)
      return np.concatenate([np.asarray(self._keras(chips[i:i + BATCH]))
                             for i in range(0, len(chips), BATCH)])
    return np.stack(out).astype(np.float32)

  __call__ = embed
