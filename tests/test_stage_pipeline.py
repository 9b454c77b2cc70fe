"""The stage pipeline: named stages, and the recipes' splits of the paper's pairs."""

import dataclasses
import os

import tensorflow as tf

from experiments import train_shipped_model
from experiments.app import stage_pipeline
from tests import shared_data


class StagesTest(tf.test.TestCase):

  def test_every_stage_has_its_step_and_unknown_ones_are_refused(self):
    pipeline = stage_pipeline.Pipeline(stage_pipeline.Recipe(),
                                       self.create_tempdir().full_path)
    for stage in stage_pipeline.STAGES:
      method = "_" + stage.replace(" ", "_").replace("-", "_")
      self.assertTrue(callable(getattr(pipeline, method, None)), stage)
    with self.assertRaisesRegex(ValueError, "decoder trainig"):
      pipeline.run(["shards", "decoder trainig"])

  def test_redo_from_sets_that_stage_and_later_ones_aside(self):
    root = self.create_tempdir().full_path
    pipeline = stage_pipeline.Pipeline(stage_pipeline.Recipe(), root)
    made = {"shards": "a", "face_decoder": "b",
            "face_decoder_fine_tuned": "c", "face_decoder_identity": "d",
            "voice_encoder": "e", "eval": "f"}
    for folder, text in made.items():
      os.makedirs(os.path.join(root, folder))
      with open(os.path.join(root, folder, "x.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(root, "selection.json"), "w") as f:
      f.write("{}")
    stages = pipeline.redo_from("decoder identity term")
    self.assertEqual(stages, ("decoder identity term", "head selection",
                              "head training", "predict", "package",
                              "table"))
    aside = os.path.join(root, "redone", "1")
    self.assertCountEqual(os.listdir(aside), [
        "face_decoder_identity", "selection.json", "voice_encoder", "eval"])
    with open(os.path.join(aside, "voice_encoder", "x.txt")) as f:
      self.assertEqual(f.read(), "e")
    self.assertCountEqual(os.listdir(root), [
        "shards", "face_decoder", "face_decoder_fine_tuned", "redone"])
    # A second redo goes beside the first, never over it.
    os.makedirs(os.path.join(root, "voice_encoder"))
    pipeline.redo_from("head training")
    self.assertCountEqual(os.listdir(os.path.join(root, "redone")),
                          ["1", "2"])
    self.assertEqual(os.listdir(os.path.join(root, "redone", "2")),
                     ["voice_encoder"])
    with self.assertRaisesRegex(ValueError, "head trainig"):
      pipeline.redo_from("head trainig")

  def test_every_stage_names_its_outputs(self):
    self.assertCountEqual(stage_pipeline.STAGE_OUTPUTS, stage_pipeline.STAGES)

  def test_recipes_list_known_stages_in_pipeline_order(self):
    order = stage_pipeline.STAGES
    for stages in (train_shipped_model.STAGES,):
      positions = [order.index(s) for s in stages]
      self.assertEqual(positions, sorted(positions))


class SplitTest(tf.test.TestCase):

  def test_shipped_and_tiny_recipes_split_speakers_apart(self):
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    root = self.create_tempdir().full_path
    full = stage_pipeline.Pipeline(dataclasses.replace(
        train_shipped_model.RECIPE, pairs_dir=pairs), root)
    tiny = stage_pipeline.Pipeline(dataclasses.replace(
        train_shipped_model.TINY, pairs_dir=pairs), root)
    for pipeline in (full, tiny):
      splits = pipeline.splits
      speakers = [{s.speaker_id for s in splits[name]}
                  for name in ("fit", "validation", "test")]
      self.assertEmpty(speakers[0] & speakers[1])
      self.assertEmpty(speakers[0] & speakers[2])
      self.assertEmpty(speakers[1] & speakers[2])
      self.assertLen(splits["fit"] + splits["validation"],
                     len(splits["train"]))
      self.assertTrue(all(s.split == "validation"
                          for s in splits["validation"]))
    self.assertLen(tiny.splits["test"], 14)
    self.assertLen(tiny.splits["train"],
                   -(-len(full.splits["train"]) // 20))


if __name__ == "__main__":
  tf.test.main()
