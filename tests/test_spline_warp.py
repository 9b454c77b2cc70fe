"""Tests for the thin-plate-spline warp against hand-computed cases."""

import numpy as np
import tensorflow as tf

from s2f_tf.models import spline_warp


def landmarks(n=20, seed=0, size=64):
  rng = np.random.RandomState(seed)
  return rng.uniform(8, size - 8, (1, n, 2)).astype(np.float32)


def pattern(size=64):
  rng = np.random.RandomState(1)
  return rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)


class SplineWarpTest(tf.test.TestCase):

  def test_identity_warp_returns_input(self):
    image, points = pattern(), landmarks()
    out = np.asarray(spline_warp.tps_warp(image, points, points))
    self.assertAllClose(out, image, atol=1e-3)

  def test_known_translation_moves_pixels(self):
    image = np.zeros((1, 64, 64, 1), np.float32)
    image[0, 20, 30] = 1.0  # row y=20, column x=30
    points = landmarks()
    shift = np.array([5.0, 3.0], np.float32)  # +5 px in x, +3 px in y
    out = np.asarray(spline_warp.tps_warp(image, points, points + shift))
    self.assertEqual(np.unravel_index(out[0, ..., 0].argmax(), (64, 64)),
                     (23, 35))
    self.assertAllClose(out[0, 23, 35, 0], 1.0, atol=1e-3)
    self.assertAllClose(out[0, 5:60, 5:60].sum(), 1.0, atol=1e-2)

  def test_tps_interpolates_control_points(self):
    source, target = landmarks(seed=2), landmarks(seed=3)
    w, a = spline_warp.fit_tps(target / 64.0, source / 64.0)
    mapped = np.asarray(spline_warp.apply_tps(target / 64.0, target / 64.0,
                                              w, a)) * 64.0
    self.assertAllClose(mapped, source, atol=1e-2)

  def test_bilinear_sample_hand_values(self):
    image = np.array([[[0.0], [10.0]], [[20.0], [30.0]]],
                     np.float32)[None]  # 2x2
    coords = np.array([[[0.5, 0.5], [1.0, 0.0], [0.25, 1.0]]], np.float32)
    out = np.asarray(spline_warp.bilinear_sample(image, coords))[0, :, 0]
    self.assertAllClose(out, [15.0, 10.0, 22.5])

  def test_gradient_flows_to_landmarks_and_texture(self):
    image = tf.Variable(pattern(32))
    points = landmarks(8, size=32)
    target = tf.Variable(points + 1.5)
    with tf.GradientTape() as tape:
      out = spline_warp.tps_warp(image, points, target)
      loss = tf.reduce_sum(out * tf.range(32.0)[None, None, :, None])
    g_image, g_target = tape.gradient(loss, [image, target])
    self.assertGreater(float(tf.reduce_sum(tf.abs(g_image))), 0)
    self.assertGreater(float(tf.reduce_sum(tf.abs(g_target))), 0)
    self.assertTrue(np.all(np.isfinite(g_target.numpy())))

  def test_layer_inside_dataset_map_matches_eager(self):
    image, points = pattern(32), landmarks(8, size=32)
    layer = spline_warp.SplineWarp(points[0])
    eager = np.asarray(layer(image, points + 2.0))
    mapped = next(iter(tf.data.Dataset.from_tensors((image, points + 2.0)).map(
        lambda i, p: layer(i, p))))
    self.assertAllClose(eager, mapped, atol=1e-5)


if __name__ == "__main__":
  tf.test.main()
