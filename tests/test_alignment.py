"""Face alignment: a least-squares similarity over all three anchors, on real photos."""

import os

import cv2
import numpy as np
import tensorflow as tf

from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from tests import shared_data

PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg", "img5.jpg", "img10.jpg",
          "img12.jpg", "img14.jpg", "img16.jpg", "img20.jpg", "img30.jpg")


def lstsq_similarity(source, target):
  """Independent solution: x' = a x - b y + tx, y' = b x + a y + ty."""
  rows, values = [], []
  for (x, y), (u, v) in zip(source, target):
    rows += [[x, -y, 1, 0], [y, x, 0, 1]]
    values += [u, v]
  a, b, tx, ty = np.linalg.lstsq(np.array(rows, np.float64),
                                 np.array(values, np.float64), rcond=None)[0]
  return np.array([[a, -b, tx], [b, a, ty]])


def residuals(matrix, source, target):
  return np.linalg.norm(source @ matrix[:, :2].T + matrix[:, 2] - target,
                        axis=1)


class AlignmentTest(tf.test.TestCase):

  def test_known_transform_is_recovered_exactly(self):
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)],
                         [np.sin(angle), np.cos(angle)]])
    source = np.random.RandomState(0).uniform(0, 200, (5, 2))
    target = scale * source @ rotation.T + shift
    matrix = landmarks_lib.similarity_transform(source, target)
    self.assertAllClose(matrix, np.hstack([scale * rotation, shift[:, None]]),
                        atol=1e-9)

  def test_real_photos_use_all_three_anchors_in_least_squares(self):
    faces = shared_data.require(shared_data.FACES_DIR)
    detector = face_detector.FaceDetector("hog")
    predictor = landmarks_lib.LandmarkDetector()
    target = landmarks_lib.FRAMES["paper"].astype(np.float64)
    ransac_worse = 0
    for name in PHOTOS:
      rgb = cv2.cvtColor(cv2.imread(os.path.join(faces, name)),
                         cv2.COLOR_BGR2RGB)
      boxes = detector.detect(rgb)
      self.assertNotEmpty(boxes, name)
      box = max(boxes, key=lambda b: (b.right - b.left) * (b.bottom - b.top))
      anchors = landmarks_lib.anchor_points(predictor(rgb, box)).astype(
          np.float64)
      matrix = landmarks_lib.alignment_matrix(predictor(rgb, box))
      expected = lstsq_similarity(anchors, target)
      self.assertAllClose(matrix, expected, atol=1e-6, msg=name)
      ours = residuals(matrix, anchors, target)
      # Least squares spreads the misfit over all three anchors.
      self.assertLess(ours.max(), 15.0, name)
      ransac, _ = cv2.estimateAffinePartial2D(anchors.astype(np.float32),
                                              target.astype(np.float32))
      if (residuals(ransac, anchors, target) ** 2).sum() > (
          ours ** 2).sum() + 1e-3:
        ransac_worse += 1
    # OpenCV's default (RANSAC, 3 px) fits two anchors on some real faces.
    self.assertGreater(ransac_worse, 0)


if __name__ == "__main__":
  tf.test.main()
