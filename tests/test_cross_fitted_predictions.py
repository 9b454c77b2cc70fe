"""Cross-fitted predictions of the training clips' features: heads that never heard the predicted speaker, on tiny shards (the real GE2E)."""

import os

import numpy as np
import tensorflow as tf

from data_prep import cross_fitted_predictions
from data_prep import split_dvectors
from tests import fake_shards
from tests import tiny_model
from tfrecords_schema import face_teacher

TEACHER = face_teacher.DLIB128


class CrossFittingTest(tf.test.TestCase):
  """The fine-tuning data's leakage guarantees: they need no shared data."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = tf.compat.v1.test.get_temp_dir() + "/s2f_cross_fitting"
    cls.shards = fake_shards.write_split_folder(
        os.path.join(root, "shards"), {"train": (8, 0)}, teacher=TEACHER,
        num_speakers=4)
    cls.decoder = tiny_model.tiny_decoder(
        os.path.join(root, "face_decoder.keras"), feature_dim=128)

  def test_speaker_folds_keep_a_speaker_together(self):
    speakers = [f"s{i % 7}" for i in range(40)]
    fold = cross_fitted_predictions.speaker_folds(speakers, 3)
    owners = {}
    for speaker, k in zip(speakers, fold):
      owners.setdefault(speaker, set()).add(int(k))
    self.assertTrue(all(len(k) == 1 for k in owners.values()))
    per_fold = np.bincount([k.pop() for k in owners.values()], minlength=3)
    self.assertEqual(sorted(per_fold.tolist()), [2, 2, 3])

  def test_cross_fitted_heads_never_see_the_predicted_speaker(self):
    """One-hot speaker inputs: a linear head (output layer started at 0)
    can only predict a speaker it was trained on by that speaker's own
    weights, so a held-out fold's clips all get the same prediction (the
    bias); a head that had seen them would tell them apart."""
    from s2f_tf import frozen_heads  # pylint: disable=g-import-not-at-top
    speakers = [f"s{i % 6}" for i in range(24)]
    x = np.eye(6, dtype=np.float32)[[i % 6 for i in range(24)]]
    y = np.random.RandomState(0).normal(size=(6, 128)).astype(np.float32)[
        [i % 6 for i in range(24)]]
    decoder_fc, _ = frozen_heads.load_face_decoder(self.decoder,
                                                   teacher=TEACHER)
    choice = {"head_hidden": 0, "learning_rate": 1e-2, "train_steps": 20}
    predicted = cross_fitted_predictions.cross_fitted(
        x, y, speakers, choice, decoder_fc, folds=3, seeds=2, batch_size=4)
    self.assertEqual(predicted.shape, (2, 24, 128))
    fold = cross_fitted_predictions.speaker_folds(speakers, 3)
    for seed in range(2):
      for k in range(3):
        held = predicted[seed, fold == k]
        self.assertAllClose(held, np.broadcast_to(held[0], held.shape))
    # The heads did learn: each fold's prediction moved off the zero start.
    self.assertGreater(np.abs(predicted).max(), 1e-3)

  def test_cross_fitted_predictions_cover_the_train_split_only(self):
    predicted = cross_fitted_predictions.predictions(
        self.shards, self.decoder, {"head_hidden": 0, "learning_rate": 1e-3,
                                    "train_steps": 2}, folds=2)
    train = split_dvectors.read_split(
        os.path.join(self.shards, "train-*"), "", 1.0)
    self.assertCountEqual(predicted, train["clip"])
    self.assertEqual({p.shape for p in predicted.values()}, {(1, 128)})


if __name__ == "__main__":
  tf.test.main()
