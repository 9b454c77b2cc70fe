"""Nested configs: sections, flat flags, files that store only differences."""

import glob
import json
import os

from absl import flags
import tensorflow as tf

from s2f_tf import run_config
from s2f_tf import train_config
from s2f_tf import training_loop
from tests import shared_data

CONFIGS = os.path.join(shared_data.REPO_ROOT, "experiments", "configs")
CONFIG_CLASSES = {"voice_encoder": train_config.TrainConfig,
                  "face_decoder": train_config.DecoderTrainConfig}


class RunConfigTest(tf.test.TestCase):

  def test_leaves_land_in_their_sections_and_diff_keeps_only_changes(self):
    config = train_config.TrainConfig.create(batch_size=4, strategy="mirrored",
                                             learning_rate=0.5)
    self.assertEqual(config.data.batch_size, 4)
    self.assertEqual(config.runtime.strategy, "mirrored")
    self.assertEqual(config.batch_size, 4)  # flat read access
    self.assertEqual(config.diff(), {
        "data": {"batch_size": 4}, "runtime": {"strategy": "mirrored"},
        "optimizer": {"learning_rate": 0.5}})
    again = train_config.TrainConfig.from_json(config.to_json())
    self.assertEqual(again, config)
    partial = train_config.TrainConfig.from_json(
        json.dumps({"loop": {"log_every": 7}}))
    self.assertEqual(partial.log_every, 7)
    self.assertEqual(partial.eval_every, 5000)  # the rest are defaults

  def test_sections_are_shared_with_their_own_defaults(self):
    encoder, decoder = (train_config.TrainConfig(),
                        train_config.DecoderTrainConfig())
    self.assertIs(type(encoder.optimizer), type(decoder.optimizer))
    self.assertEqual((encoder.learning_rate, encoder.adam_epsilon),
                     (1e-3, 1e-4))  # Sec. 4
    self.assertEqual((decoder.learning_rate, decoder.lr_decay_rate,
                      decoder.adam_epsilon), (1e-4, 1.0, 1e-7))

  def test_unknown_and_misplaced_keys_are_errors(self):
    with self.assertRaisesRegex(ValueError, "unknown"):
      train_config.TrainConfig.from_json('{"data": {"batch": 2}}')
    with self.assertRaisesRegex(ValueError, "section"):
      train_config.TrainConfig.from_json('{"data": 2}')
    with self.assertRaisesRegex(ValueError, "unknown"):
      train_config.TrainConfig.create(batchsize=2)

  def test_shipped_configs_store_only_differences(self):
    paths = glob.glob(os.path.join(CONFIGS, "*", "*.json"))
    self.assertLen(paths, 10)
    for path in paths:
      cls = CONFIG_CLASSES[os.path.basename(os.path.dirname(path))]
      with open(path, encoding="utf-8") as f:
        stored = json.load(f)
      self.assertEqual(stored, cls.load(path).diff(), path)

  def test_flags_are_the_flat_leaves_with_comments_as_help(self):
    values = flags.FlagValues()
    run_config.define_flags(train_config.TrainConfig, values)
    values(["prog", "--batch_size=2", "--adam_beta1=0.9",
            "--nojit_compile"])
    config = run_config.from_flags(train_config.TrainConfig, "", values)
    self.assertEqual(config.diff(), {"data": {"batch_size": 2},
                                     "optimizer": {"adam_beta1": 0.9}})
    self.assertEqual(set(values), set(train_config.TrainConfig.leaves()))
    self.assertIn("Sec. 4", values["adam_beta1"].help)
    self.assertIn("0: only at the last", values["log_every"].help)

  def test_shared_sections_are_checked_alike_in_both_trainers(self):
    encoder = train_config.TrainConfig.create(train_pattern="x")
    decoder = train_config.DecoderTrainConfig.create(data_dir="x")
    for config in (encoder, decoder):
      config.validate()
      for bad, message in (({"jit_compile": True, "deterministic": True},
                            "--jit_compile with --deterministic"),
                           ({"strategy": "cluster"}, "--strategy='cluster'"),
                           ({"log_every": -1}, "--log_every=-1"),
                           ({"learning_rate": 0.0}, "--learning_rate=0.0")):
        with self.assertRaisesRegex(ValueError, message):
          config.replace(**bad).validate()

  def test_leaf_names_must_be_unique(self):
    import dataclasses  # pylint: disable=g-import-not-at-top

    @dataclasses.dataclass
    class Twice(run_config.RunConfig):
      a: train_config.LoopConfig = dataclasses.field(
          default_factory=train_config.LoopConfig)
      b: train_config.LoopConfig = dataclasses.field(
          default_factory=train_config.LoopConfig)
    with self.assertRaisesRegex(TypeError, "two sections"):
      Twice.leaves()

  def test_itstime_every_n_and_at_the_last_step(self):
    due = [s for s in range(1, 11) if training_loop.itstime(s, 4, 10)]
    self.assertEqual(due, [4, 8, 10])
    due = [s for s in range(1, 11) if training_loop.itstime(s, 0, 10)]
    self.assertEqual(due, [10])


if __name__ == "__main__":
  tf.test.main()
