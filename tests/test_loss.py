"""Tests for Eq. 1 against an independent float64 numpy computation."""

import keras
import numpy as np
import tensorflow as tf

from s2f_tf.losses import loss_weights
from s2f_tf.losses import speech2face_loss


def numpy_loss(v_f, v_s, w_dec, b_dec, w_vgg, b_vgg, lambda1, lambda2, t):
  """Eq. 1 per example, written from the paper with numpy only."""
  l1 = np.abs((v_f @ w_dec + b_dec) - (v_s @ w_dec + b_dec)).sum(-1)
  unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
  l2 = ((unit(v_f) - unit(v_s)) ** 2).sum(-1)

  def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)

  p_teacher = softmax((v_f @ w_vgg + b_vgg) / t)
  p_student = softmax((v_s @ w_vgg + b_vgg) / t)
  distill = -(p_teacher * np.log(p_student)).sum(-1)
  return l1, l2, distill, l1 + lambda1 * l2 + lambda2 * distill


def frozen_dense(kernel, bias):
  layer = keras.layers.Dense(kernel.shape[1], dtype="float64")
  layer.build((None, kernel.shape[0]))
  layer.set_weights([kernel, bias])
  return layer


class LossTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.RandomState(0)
    self.dim, self.dec, self.ids = 16, 10, 7
    self.w_dec, self.b_dec = rng.randn(16, 10), rng.randn(10)
    self.w_vgg, self.b_vgg = rng.randn(16, 7), rng.randn(7)
    self.v_f = np.maximum(rng.randn(5, 16), 0) + 0.1
    self.v_s = rng.randn(5, 16)
    self.loss = speech2face_loss.Speech2FaceLoss(
        frozen_dense(self.w_dec, self.b_dec),
        frozen_dense(self.w_vgg, self.b_vgg))

  def _numpy(self, v_s):
    return numpy_loss(self.v_f, v_s, self.w_dec, self.b_dec, self.w_vgg,
                      self.b_vgg, 0.025, 200.0, 2.0)

  def test_paper_constants(self):
    self.assertEqual(loss_weights.LAMBDA1, 0.025)
    self.assertEqual(loss_weights.LAMBDA2, 200.0)
    self.assertEqual(loss_weights.DISTILL_TEMPERATURE, 2.0)

  def test_terms_match_numpy(self):
    terms = self.loss.per_example(self.v_f, tf.constant(self.v_s))
    l1, l2, distill, total = self._numpy(self.v_s)
    self.assertAllClose(terms["decoder_l1"], l1, rtol=1e-10)
    self.assertAllClose(terms["feature_l2"], l2, rtol=1e-10)
    self.assertAllClose(terms["distillation"], distill, rtol=1e-10)
    self.assertAllClose(terms["total"], total, rtol=1e-10)
    means = self.loss(self.v_f, tf.constant(self.v_s))
    self.assertAllClose(means["total"], total.mean(), rtol=1e-10)

  def test_identical_features_give_zero_l1_and_l2(self):
    terms = self.loss.per_example(self.v_f, tf.constant(self.v_f))
    self.assertAllClose(terms["decoder_l1"], np.zeros(5))
    self.assertAllClose(terms["feature_l2"], np.zeros(5), atol=1e-12)

  def test_gradient_matches_numpy_finite_differences(self):
    v_s = tf.Variable(self.v_s)
    with tf.GradientTape() as tape:
      total = tf.reduce_sum(self.loss.per_example(self.v_f, v_s)["total"])
    grad = tape.gradient(total, v_s).numpy()
    numeric = np.zeros_like(self.v_s)
    h = 1e-6
    for index in np.ndindex(*self.v_s.shape):
      plus, minus = self.v_s.copy(), self.v_s.copy()
      plus[index] += h
      minus[index] -= h
      numeric[index] = (self._numpy(plus)[3].sum() -
                        self._numpy(minus)[3].sum()) / (2 * h)
    self.assertAllClose(grad, numeric, rtol=1e-5, atol=1e-5)

  def test_heads_receive_no_gradient_and_stay_frozen(self):
    v_s = tf.Variable(self.v_s)
    heads = [self.loss.decoder_fc, self.loss.fc8]
    before = [w.numpy().copy() for h in heads for w in h.weights]
    with tf.GradientTape() as tape:
      total = tf.reduce_sum(self.loss.per_example(self.v_f, v_s)["total"])
    self.assertEqual([h.trainable_variables for h in heads], [[], []])
    optimizer = keras.optimizers.Adam(0.1)
    grads = tape.gradient(total, [v_s])
    optimizer.apply_gradients(zip(grads, [v_s]))
    after = [w.numpy() for h in heads for w in h.weights]
    for b, a in zip(before, after):
      np.testing.assert_array_equal(b, a)
    self.assertNotAllClose(v_s.numpy(), self.v_s)

  def test_pixel_loss_through_frozen_decoder(self):
    decoder = keras.Sequential([
        keras.Input((16,), dtype="float64"),
        keras.layers.Dense(2 * 2 * 3, dtype="float64"),
        keras.layers.Reshape((2, 2, 3), dtype="float64")])
    loss = speech2face_loss.Speech2FaceLoss(
        self.loss.decoder_fc, self.loss.fc8, face_decoder=decoder,
        loss_type="pixel")
    w, b = [x.numpy() for x in decoder.layers[0].weights]
    expected = np.abs((self.v_f @ w + b) - (self.v_s @ w + b)).mean(-1)
    terms = loss.per_example(self.v_f, tf.constant(self.v_s))
    self.assertAllClose(terms["pixel_l1"], expected, rtol=1e-10)
    self.assertEqual(decoder.trainable_variables, [])

  def test_pixel_loss_requires_decoder(self):
    with self.assertRaisesRegex(ValueError, "decoder"):
      speech2face_loss.Speech2FaceLoss(self.loss.decoder_fc, self.loss.fc8,
                                       loss_type="pixel")


if __name__ == "__main__":
  tf.test.main()
