"""dlib 68-point landmarks and the canonical frontal alignment of the face decoder.

Alignment: a similarity transform (rotation, scale, translation) that puts
the two eye centres and the mouth centre of a face onto fixed positions of a
224 x 224 frame (`FRAMES`: the paper's by default). The face decoder's
targets live in that frame.
"""

import cv2
import numpy as np

from s2f_tf.faces import face_detector
from tfrecords_schema import face_teacher

NUM_LANDMARKS = 68  # dlib / iBUG 300-W layout.
ALIGNED_SIZE = face_teacher.FACE_SIZE  # The aligned (canonical) frame.
# (x, y) in the 224 x 224 aligned frame of: the image-left eye centre, the
# image-right eye centre, the mouth centre.
FRAMES = {
    # The paper's faces (Figs. 1, 3, 4): the median of these anchors (dlib
    # HOG + 68 points) on all 968 of the paper's own output faces of the
    # project page's AVSpeech clips (Face_exg0; its face -> face images
    # give the same within 1.5 px). Eye distance 55 px: the whole head
    # and hair inside the frame. WORKSPACE.md, "The paper's framing".
    "paper": np.array([[85.0, 103.0], [140.0, 103.0], [113.0, 163.5]],
                      np.float32),
    # s2f's first frame (decoders before 2026-12-05): a tighter crop (eye
    # distance 68 px) with the chin and brows inside and the hair cut.
    "tight": np.array([[78.0, 96.0], [146.0, 96.0], [112.0, 164.0]],
                      np.float32),
}
DEFAULT_FRAME = "paper"
# Index of each landmark's mirror image (left/right swap) in the 68 layout.
FLIP_PERMUTATION = np.array(
    list(range(16, -1, -1)) +  # jaw
    list(range(26, 16, -1)) +  # brows
    [27, 28, 29, 30] + [35, 34, 33, 32, 31] +  # nose
    [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40] +  # eyes
    [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] +  # outer lips
    [64, 63, 62, 61, 60, 67, 66, 65])  # inner lips


class LandmarkDetector:
  """dlib's 68-point shape predictor (`face-recognition-models`)."""

  def __init__(self):
    import dlib  # pylint: disable=g-import-not-at-top
    self._dlib = dlib
    self._predictor = dlib.shape_predictor(face_detector.model_path(
        "shape_predictor_68_face_landmarks.dat"))

  def __call__(self, rgb, box):
    """(68, 2) float32 (x, y) landmarks of the face in `box`."""
    rect = self._dlib.rectangle(int(box.left), int(box.top), int(box.right),
                                int(box.bottom))
    shape = self._predictor(np.ascontiguousarray(rgb), rect)
    return np.array([[p.x, p.y] for p in shape.parts()], np.float32)


def anchor_points(landmarks):
  """Eye centres (image-left, image-right) and mouth centre of 68 landmarks."""
  return np.stack([landmarks[36:42].mean(0), landmarks[42:48].mean(0),
                   landmarks[48:68].mean(0)]).astype(np.float32)


def similarity_transform(source, target):
  """Least-squares similarity (Umeyama, 1991) taking `source` onto `target`.

  Closed form over all point pairs (no RANSAC, no reflection): with both
  sets centred, the rotation comes from the SVD of their covariance and the
  scale from the singular values over the source variance.

  Args:
    source, target: (n, 2) points, n >= 2.

  Returns:
    (2, 3) float64 matrix [s R | t] minimising sum |s R p + t - q|^2.
  """
  source = np.asarray(source, np.float64)
  target = np.asarray(target, np.float64)
  mean_s, mean_t = source.mean(0), target.mean(0)
  centred_s, centred_t = source - mean_s, target - mean_t
  covariance = centred_t.T @ centred_s / len(source)
  u, singular, vt = np.linalg.svd(covariance)
  sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
  rotation = u @ sign @ vt
  scale = np.trace(np.diag(singular) @ sign) / (
      (centred_s ** 2).sum() / len(source))
  translation = mean_t - scale * rotation @ mean_s
  return np.hstack([scale * rotation, translation[:, None]])


def alignment_matrix(landmarks, size=ALIGNED_SIZE, frame=DEFAULT_FRAME):
  """2x3 similarity transform taking the face to the canonical frame.

  Least squares over the three anchors (eye centres, mouth centre): every
  anchor counts, unlike cv2.estimateAffinePartial2D's default RANSAC, which
  with a 3 px threshold often fits two anchors and ignores the third.
  """
  if frame not in FRAMES:
    raise ValueError(f"frame must be one of {', '.join(FRAMES)}, not "
                     f"{frame!r}")
  target = FRAMES[frame] * (size / float(ALIGNED_SIZE))
  return similarity_transform(anchor_points(landmarks), target)


def align(rgb, landmarks, size=ALIGNED_SIZE, frame=DEFAULT_FRAME):
  """(aligned size x size image, landmarks in the aligned frame, inside):
  `inside` (size, size) float32 is 1 where the aligned pixel comes from
  the photo and 0 where it lies outside it (filled by replicating the
  photo's border)."""
  matrix = alignment_matrix(landmarks, size, frame)
  image = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
  inside = cv2.warpAffine(np.ones(rgb.shape[:2], np.float32), matrix,
                          (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
  points = landmarks @ matrix[:, :2].T + matrix[:, 2]
  return image, points.astype(np.float32), inside


def flip(rgb, landmarks):
  """Mirror image and landmarks (with the left/right index swap)."""
  width = rgb.shape[1]
  mirrored = landmarks[FLIP_PERMUTATION].copy()
  mirrored[:, 0] = width - 1 - mirrored[:, 0]
  return rgb[:, ::-1].copy(), mirrored
