"""Choosing the ge2e head on validation speakers and its seed spread on a split, on tiny shards (the real GE2E, the real readers)."""

import os
import unittest

import tensorflow as tf

from experiments.evaluation import ge2e_head_selection
from tests import fake_shards
from tests import shared_data
from tests import tiny_model

TEACHER = "dlib128"
ATTRIBUTE_MODELS = os.path.join(shared_data.REPO_ROOT, "experiments",
                                "demo_data", "models", "dlib_age_gender")


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
    fake_shards.write_split_folder(
        cls.shards, {"train": (8, 0), "validation": (6, 1), "test": (6, 2)},
        teacher=TEACHER, num_speakers=4, faces=faces)
    cls.decoder = tiny_model.tiny_decoder(
        os.path.join(cls.root, "face_decoder.keras"), feature_dim=128)

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


if __name__ == "__main__":
  tf.test.main()
