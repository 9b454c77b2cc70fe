"""Choosing the ge2e head on validation speakers and its seed spread on a split, on tiny shards (the real GE2E, the real readers)."""

import json
import os
import unittest

import numpy as np
import tensorflow as tf

from experiments.evaluation import ge2e_head_selection
from s2f_tf.models import face_decoder
from tests import fake_shards
from tests import shared_data

TEACHER = "dlib128"
ATTRIBUTE_MODELS = os.path.join(shared_data.REPO_ROOT, "experiments",
                                "demo_data", "models", "dlib_age_gender")


def _write_run(root, shards, splits):
  """The shards' summary.json and a tiny untrained decoder; its path."""
  with open(os.path.join(shards, "summary.json"), "w") as f:
    json.dump({"splits": splits}, f)
  mean = np.random.RandomState(0).uniform(60, 160, (68, 2))
  decoder = face_decoder.build_face_decoder(
      mean, face_decoder.SPECS["tiny"], feature_dim=128)
  path = os.path.join(root, "face_decoder.keras")
  face_decoder.image_model(decoder).save(path)
  return path


class HeadSelectionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir() + "/s2f_head_selection"
    cls.shards = os.path.join(cls.root, "shards")
    # Real photos of two women and two men as the speakers' faces: the
    # teacher-space reader needs training faces of both genders.
    faces = []
    for name in ("img1.jpg", "img2.jpg", "img20.jpg", "img16.jpg"):
      path = os.path.join(shared_data.FACES_DIR, name)
      if not os.path.isfile(path):
        raise unittest.SkipTest(f"{path} is not there (../shared/data)")
      with open(path, "rb") as f:
        faces.append(f.read())
    splits = {}
    for split, count, seed in (("train", 8, 0), ("validation", 6, 1),
                               ("test", 6, 2)):
      splits[split] = {"pattern": fake_shards.write_shards(
          cls.shards, split, count, seed=seed, teacher=TEACHER,
          num_speakers=4, faces=faces)}
    cls.decoder = _write_run(cls.root, cls.shards, splits)

  def test_select_then_spread(self):
    result = ge2e_head_selection.select(
        self.shards, self.decoder, ATTRIBUTE_MODELS, widths=(0, 8),
        learning_rates=(1e-3,),
        steps=(1, 2), scales=(1.0, 2.0), batch_size=4, workers=1)
    # Every width x step is scored, on the 6 validation clips only.
    self.assertLen(result["candidates"], 4)
    self.assertEqual(result["validation_clips"], 6)
    self.assertEqual(result["fit_clips"], 8)
    self.assertIn(result["choice"]["output_scale"], (1.0, 2.0))
    self.assertLen(result["seeds"], 3)
    # The d-vectors are cached per split, test never read by select.
    self.assertTrue(os.path.isfile(os.path.join(
        self.shards, "ge2e_dvectors_validation.npz")))
    self.assertFalse(os.path.isfile(os.path.join(
        self.shards, "ge2e_dvectors_test.npz")))

    spread = ge2e_head_selection.seed_spread(
        self.shards, self.decoder, ATTRIBUTE_MODELS,
        result["choice"], "test", seeds=(0, 1), batch_size=4, workers=1)
    self.assertEqual(spread["clips"], 6)
    self.assertEqual([s["seed"] for s in spread["seeds"]], [0, 1])
    for entry in spread["seeds"]:
      self.assertEqual(entry["image"]["output_scale"],
                       result["choice"]["output_scale"])
      for space in ("image", "feature"):
        self.assertBetween(entry[space]["gender_agreement"], 0.0, 100.0)
        self.assertBetween(entry[space]["matching"], 0.0, 100.0)
    self.assertTrue(os.path.isfile(os.path.join(
        self.shards, "ge2e_dvectors_test.npz")))


class CrossFittingTest(tf.test.TestCase):
  """The fine-tuning data's leakage guarantees: they need no shared data."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir() + "/s2f_cross_fitting"
    cls.shards = os.path.join(cls.root, "shards")
    splits = {"train": {"pattern": fake_shards.write_shards(
        cls.shards, "train", 8, seed=0, teacher=TEACHER, num_speakers=4)}}
    cls.decoder = _write_run(cls.root, cls.shards, splits)

  def test_speaker_folds_keep_a_speaker_together(self):
    speakers = [f"s{i % 7}" for i in range(40)]
    fold = ge2e_head_selection.speaker_folds(speakers, 3)
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
    predicted = ge2e_head_selection.cross_fitted(
        x, y, speakers, choice, decoder_fc, folds=3, seeds=2, batch_size=4)
    self.assertEqual(predicted.shape, (2, 24, 128))
    fold = ge2e_head_selection.speaker_folds(speakers, 3)
    for seed in range(2):
      for k in range(3):
        held = predicted[seed, fold == k]
        self.assertAllClose(held, np.broadcast_to(held[0], held.shape))
    # The heads did learn: each fold's prediction moved off the zero start.
    self.assertGreater(np.abs(predicted).max(), 1e-3)

  def test_cross_fitted_predictions_cover_the_train_split_only(self):
    predicted = ge2e_head_selection.cross_fitted_predictions(
        self.shards, self.decoder, {"head_hidden": 0, "learning_rate": 1e-3,
                                    "train_steps": 2}, folds=2)
    train = ge2e_head_selection.read_split(
        os.path.join(self.shards, "train-*"), "", 1.0)
    self.assertCountEqual(predicted, train["clip"])
    self.assertEqual({p.shape for p in predicted.values()}, {(1, 128)})


if __name__ == "__main__":
  tf.test.main()
