"""dlib's 128-D ResNet face descriptor: the dlib128 face teacher and the identity instrument.

dlib's `dlib_face_recognition_resnet_model_v1` (from `face-recognition-models`;
ROC AUC 1.00 on the labelled pairs of `../shared/data/faces`) on the largest
HOG face of an image, aligned by dlib's own 5-point shape predictor. The same
recipe serves as s2f's offline face teacher (`face_teacher.DLIB128`) and as
the independent recognizer of the identity metrics.
"""

import numpy as np

from s2f_tf.faces import face_detector

DIM = 128


class DlibFaceEmbedder:
  """RGB images -> (n, 128) dlib face-recognition embeddings."""

  def __init__(self):
    import dlib  # pylint: disable=g-import-not-at-top
    self._dlib = dlib
    self._detector = dlib.get_frontal_face_detector()
    self._shape = dlib.shape_predictor(face_detector.model_path(
        "shape_predictor_5_face_landmarks.dat"))
    self._net = dlib.face_recognition_model_v1(face_detector.model_path(
        "dlib_face_recognition_resnet_model_v1.dat"))

  def shape(self, rgb):
    """dlib's 5-point shape of the largest HOG face of an RGB uint8 image
    (the whole image when none: aligned reconstructions)."""
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
      out.append(np.asarray(self._net.compute_face_descriptor(rgb, shape)))
    return np.stack(out).astype(np.float32) if out else np.zeros((0, DIM),
                                                                  np.float32)

  __call__ = embed
