"""The GE2E head trained on d-vectors in memory through the one training loop: its batches, its optimizer and its scored steps."""

import os

import keras
import numpy as np
import tensorflow as tf

from s2f_tf import dvector_head_trainer
from s2f_tf import frozen_heads
from s2f_tf.losses import speech2face_loss
from s2f_tf.models import ge2e_encoder
from tests import tiny_model
from tfrecords_schema import face_teacher


def _reference_head(x, y, width, learning_rate, steps, decoder_fc,
                    batch_size, seed):
  """A bare loop written here: Sec. 4's Adam (beta1 0.5, epsilon 1e-4, no
  decay within these steps) on the batch mean of Eq. 1, batches from
  epochs of numpy's seeded permutations; the head's predictions of `x`."""
  keras.utils.set_random_seed(seed)
  head = keras.Sequential([keras.Input((x.shape[1],))] +
                          ge2e_encoder.head_layers(y.shape[1], width,
                                                   zero_init_output=True))
  optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5, epsilon=1e-4)
  loss = speech2face_loss.Speech2FaceLoss(decoder_fc, None)
  rng = np.random.RandomState(seed)
  order = np.concatenate([rng.permutation(len(x)) for _ in range(
      steps * batch_size // len(x) + 1)])
  for s in range(steps):
    rows = order[s * batch_size:(s + 1) * batch_size]
    with tf.GradientTape() as tape:
      total = loss(y[rows], head(x[rows], training=True))["total"]
    grads = tape.gradient(total, head.trainable_variables)
    optimizer.apply_gradients(zip(grads, head.trainable_variables))
  return np.asarray(head(x))


class DvectorHeadTrainerTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = tf.compat.v1.test.get_temp_dir() + "/s2f_dvector_head"
    os.makedirs(root, exist_ok=True)
    decoder = tiny_model.tiny_decoder(os.path.join(root, "decoder.keras"),
                                      feature_dim=128)
    cls.decoder_fc, _ = frozen_heads.load_face_decoder(
        decoder, teacher=face_teacher.DLIB128)
    rng = np.random.RandomState(0)
    cls.x = rng.normal(size=(20, 16)).astype(np.float32)
    cls.y = rng.normal(size=(20, 128)).astype(np.float32)

  def test_batches_are_epochs_of_seeded_permutations(self):
    order = dvector_head_trainer.batch_order(10, 4, 6, seed=3)
    self.assertEqual(order.shape, (6, 4))
    flat = order.ravel()
    rng = np.random.RandomState(3)
    self.assertAllEqual(flat[:10], rng.permutation(10))
    self.assertAllEqual(flat[10:20], rng.permutation(10))
    self.assertAllEqual(flat[20:], rng.permutation(10)[:4])

  def test_matches_a_bare_adam_loop_and_scores_the_asked_steps(self):
    width, lr, batch, seed = 8, 1e-2, 4, 5
    seen = []
    scores = dvector_head_trainer.train_head(
        self.x, self.y, width, lr, [3, 12], self.decoder_fc,
        lambda head: seen.append(1) or np.asarray(head(self.x)), batch, seed,
        face_teacher.DLIB128)
    self.assertEqual(sorted(scores), [3, 12])
    self.assertLen(seen, 2)  # predict ran at the scored steps only
    for steps in (3, 12):
      expected = _reference_head(self.x, self.y, width, lr, steps,
                                 self.decoder_fc, batch, seed)
      self.assertAllClose(scores[steps], expected, atol=1e-5, rtol=1e-4)
    # The head moved off its zero-started output between the two steps.
    self.assertGreater(np.abs(scores[12] - scores[3]).max(), 1e-3)


if __name__ == "__main__":
  tf.test.main()
