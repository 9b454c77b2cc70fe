"""The stage pipeline: named stages, and the recipes' splits of the paper's pairs."""

import dataclasses

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
