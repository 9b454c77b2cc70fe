"""The real training binary on tiny shards: MirroredStrategy, checkpoints, resume."""

import json
import os

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from s2f_tf import run_record
from s2f_tf import speech_to_face
from s2f_tf import train_config
from s2f_tf import voice_encoder_trainer
from s2f_tf.models import face_decoder
from s2f_tf.models import ge2e
from tests import binaries
from tests import fake_shards
from tests import shared_data

BINARY = os.path.join(shared_data.REPO_ROOT, "experiments", "train.py")
CONFIGS = os.path.join(shared_data.REPO_ROOT, "experiments", "configs",
                       "voice_encoder")


def run_binary(*args):
  return binaries.run_ok([BINARY, *args])


read_metrics = run_record.read_metrics
total_steps = voice_encoder_trainer.total_steps


def _tiny_decoder128(root):
  """A random tiny dlib128 face decoder saved under `root`; its path."""
  mean = np.random.RandomState(0).uniform(60, 160, (68, 2))
  decoder_path = os.path.join(root, "decoder128.keras")
  face_decoder.image_model(face_decoder.build_face_decoder(
      mean, face_decoder.SPECS["tiny"], feature_dim=128)).save(decoder_path)
  return decoder_path


class TrainBinaryTest(tf.test.TestCase, parameterized.TestCase):

  def test_mirrored_two_cpus_checkpoint_resume_and_overfit(self):
    root = self.create_tempdir().full_path
    # 8 examples and a global batch of 8: every step sees the same batch.
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 8)
    test = fake_shards.write_shards(os.path.join(root, "data"), "test", 8,
                                    seed=1)
    workdir = os.path.join(root, "run")
    common = ["--config", os.path.join(CONFIGS, "tiny.json"),
              "--workdir", workdir, "--train_pattern", train,
              "--eval_pattern", test, "--num_cpu_devices", "2",
              "--strategy", "mirrored", "--batch_size", "8",
              "--deterministic", "--log_every", "1", "--checkpoint_every",
              "6", "--image_every", "6", "--eval_every", "100",
              "--learning_rate", "3e-4"]
    log = run_binary(*common, "--train_steps", "6")
    self.assertIn("Strategy mirrored with 2 replicas in sync", log)
    first = read_metrics(workdir)
    self.assertEqual([m["step"] for m in first], list(range(1, 7)))
    self.assertTrue(tf.train.latest_checkpoint(
        os.path.join(workdir, run_record.CHECKPOINT_DIR)).endswith("-6"))
    config = train_config.TrainConfig.load(
        os.path.join(workdir, run_record.CONFIG_FILE))
    self.assertEqual((config.train_steps, config.strategy), (6, "mirrored"))

    log = run_binary(*common, "--train_steps", "12")
    self.assertIn("Resumed from", log)
    steps = [m["step"] for m in read_metrics(workdir)]
    self.assertEqual(steps, list(range(1, 13)))  # resumed at 7, not 1
    totals = np.array([m["losses/total"] for m in read_metrics(workdir)])
    self.assertTrue(np.all(np.isfinite(totals)))
    self.assertLess(totals[-3:].mean(), totals[:3].mean())
    for metric in read_metrics(workdir):
      self.assertAllClose(metric["learning_rate"], 3e-4)
      self.assertEqual(
          sorted(k for k in metric if k.startswith("losses/")),
          ["losses/decoder_l1", "losses/distillation", "losses/feature_l2",
           "losses/total"])
    events = tf.io.gfile.glob(os.path.join(workdir, "train", "events.*"))
    tags = set()
    for path in events:
      for event in tf.compat.v1.train.summary_iterator(path):
        tags.update(v.tag for v in event.summary.value)
    self.assertContainsSubset(
        {"losses/total", "learning_rate", "examples_per_s",
         "faces/1_true_face"}, tags)  # no decoder given: no decoded panels
    self.assertTrue(tf.io.gfile.glob(os.path.join(workdir, "eval",
                                                  "events.*")))

  def test_paper_config_runs_full_size_model(self):
    root = self.create_tempdir().full_path
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 2)
    workdir = os.path.join(root, "run")
    run_binary("--config", os.path.join(CONFIGS, "paper.json"),
               "--workdir", workdir, "--train_pattern", train,
               "--train_steps", "1", "--batch_size", "2",
               "--shuffle_buffer", "2", "--log_every", "1",
               "--allow_random_heads")
    metrics = read_metrics(workdir)
    self.assertEqual([m["step"] for m in metrics], [1])
    self.assertTrue(np.isfinite(metrics[0]["losses/total"]))
    config = train_config.TrainConfig.load(os.path.join(
        workdir, run_record.CONFIG_FILE))
    self.assertEqual((config.encoder, config.learning_rate), ("table1", 1e-3))

  @parameterized.parameters("tiny.json", "demo.json")
  def test_small_shipped_configs_run(self, name):
    root = self.create_tempdir().full_path
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 4)
    workdir = os.path.join(root, "run")
    run_binary("--config", os.path.join(CONFIGS, name), "--workdir",
               workdir, "--train_pattern", train, "--eval_pattern", train,
               "--train_steps", "2")
    self.assertEqual(read_metrics(workdir)[-1]["step"], 2)
    self.assertTrue(tf.train.latest_checkpoint(os.path.join(
        workdir, run_record.CHECKPOINT_DIR)).endswith("-2"))

  def test_real_pairs_config_runs_on_dlib128_and_refuses_mixing(self):
    root = self.create_tempdir().full_path
    decoder_path = _tiny_decoder128(root)
    common = ["--config", os.path.join(CONFIGS, "real_pairs.json"),
              "--decoder_path", decoder_path, "--train_steps", "2",
              "--batch_size", "2", "--log_every", "1"]
    dlib = fake_shards.write_shards(os.path.join(root, "dlib"), "train", 4,
                                    teacher="dlib128")
    workdir = os.path.join(root, "run")
    run_binary(*common, "--workdir", workdir, "--train_pattern", dlib)
    metrics = read_metrics(workdir)
    self.assertEqual(metrics[-1]["step"], 2)
    self.assertEqual(metrics[-1]["losses/distillation"], 0.0)  # lambda3 = 0
    # Shards of the paper's teacher with this dlib128 run: one error line.
    vgg = fake_shards.write_shards(os.path.join(root, "vgg"), "train", 4)
    result = binaries.run([BINARY, *common, "--workdir",
                           os.path.join(root, "mixed"), "--train_pattern",
                           vgg])
    self.assertEqual(result.returncode, 1)
    self.assertNotIn("Traceback", result.stderr)
    error = result.stderr.strip().splitlines()[-1]
    self.assertTrue(error.startswith("error: "), error)
    self.assertIn("made with the face teacher vgg_face_fc7, not dlib128",
                  error)

  def test_ge2e_backbone_trains_head_only_restores_and_refuses_table1(self):
    root = self.create_tempdir().full_path
    decoder_path = _tiny_decoder128(root)
    pattern = fake_shards.write_shards(os.path.join(root, "dlib"), "train", 4,
                                       teacher="dlib128")
    workdir = os.path.join(root, "ge2e")
    common = ["--decoder_path", decoder_path, "--train_pattern", pattern,
              "--batch_size", "2", "--log_every", "1", "--segment_seconds",
              "2"]
    run_binary("--config", os.path.join(CONFIGS, "ge2e.json"), *common,
               "--workdir", workdir, "--train_steps", "2")
    self.assertEqual(read_metrics(workdir)[-1]["step"], 2)
    # The backbone is resemblyzer's, unchanged by training; the head moved.
    model, config = speech_to_face.load_encoder(workdir)
    self.assertEqual(config.encoder, "ge2e")
    backbone = ge2e.pretrained()
    for trained, original in zip(model.get_layer("ge2e").weights,
                                 backbone.weights):
      self.assertAllEqual(trained, original)
    self.assertGreater(np.abs(model.get_layer("head_out").get_weights()[0]
                              ).max(), 0)  # zero at the start
    # Whole clips of any length: the feature is the head on the d-vector.
    waveform = np.random.RandomState(1).uniform(
        -0.3, 0.3, 40_000).astype(np.float32)
    feature = speech_to_face.SpeechToFace.from_workdir(workdir).encode(
        waveform[None])
    head = keras.Sequential([model.get_layer("head_fc1"),
                             model.get_layer("head_out")])
    self.assertAllClose(feature, head(backbone(waveform[None])), atol=1e-5)
    # A table1 config on the ge2e run's workdir, and the other way round:
    # one error line each, nothing trained.
    for config_name, other in (("real_pairs.json", workdir),
                               ("ge2e.json", None)):
      if other is None:
        other = os.path.join(root, "tiny")
        run_binary("--config", os.path.join(CONFIGS, "real_pairs.json"),
                   *common, "--workdir", other, "--train_steps", "1")
      result = binaries.run([BINARY, "--config", os.path.join(
          CONFIGS, config_name), *common, "--workdir", other,
                             "--train_steps", "3"])
      self.assertEqual(result.returncode, 1, result.stderr[-2000:])
      self.assertNotIn("Traceback", result.stderr)
      error = result.stderr.strip().splitlines()[-1]
      self.assertTrue(error.startswith("error: "), error)
      self.assertIn("checkpoint of a different model", error)

  def test_cached_frozen_backbone_trains_the_same_head(self):
    """With `cache_backbone` (the default) a frozen ge2e backbone's d-vectors
    are computed once and the head trained on them: the same losses step by
    step and the same head as running the backbone every step."""
    root = self.create_tempdir().full_path
    decoder_path = _tiny_decoder128(root)
    data = os.path.join(root, "dlib")
    train = fake_shards.write_shards(data, "train", 6, teacher="dlib128")
    test = fake_shards.write_shards(data, "test", 4, seed=1,
                                    teacher="dlib128")
    config = train_config.TrainConfig.load(
        os.path.join(CONFIGS, "ge2e.json")).replace(
            train_pattern=train, eval_pattern=test, decoder_path=decoder_path,
            batch_size=2, segment_seconds=2.0, train_steps=3, log_every=1,
            deterministic=True, learning_rate=1e-2, head_hidden=16)
    heads, losses = [], []
    for cache in (True, False):
      workdir = os.path.join(root, f"cache_{cache}")
      voice_encoder_trainer.train(config.replace(cache_backbone=cache),
                                  workdir)
      losses.append([m["losses/total"] for m in read_metrics(workdir)])
      model, _ = speech_to_face.load_encoder(workdir)
      heads.append([w for name in ("head_fc1", "head_out")
                    for w in model.get_layer(name).get_weights()])
    self.assertLen(losses[0], 3)
    self.assertAllClose(losses[0], losses[1], rtol=1e-4)
    self.assertGreater(abs(losses[0][-1] - losses[0][0]), 0)
    for cached, direct in zip(*heads):
      self.assertAllClose(cached, direct, atol=1e-5)

  def test_paper_config_refuses_random_heads(self):
    root = self.create_tempdir().full_path
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 2)
    workdir = os.path.join(root, "run")
    result = binaries.run([BINARY, "--config",
                           os.path.join(CONFIGS, "paper.json"), "--workdir",
                           workdir, "--train_pattern", train])
    self.assertNotEqual(result.returncode, 0)
    self.assertNotIn("Traceback", result.stderr)
    error = result.stderr.strip().splitlines()[-1]
    self.assertTrue(error.startswith("error: "), error)
    for needed in ("--decoder_path", "--fc8_weights", "--allow_random_heads",
                   "vgg_face.mat"):
      self.assertIn(needed, error)
    self.assertFalse(tf.io.gfile.glob(os.path.join(workdir, "checkpoints",
                                                   "*")))

  def test_every_shipped_config_loads_with_paper_values(self):
    paper = train_config.TrainConfig.load(os.path.join(CONFIGS, "paper.json"))
    self.assertEqual((paper.batch_size, paper.epochs, paper.learning_rate,
                      paper.lr_decay_rate, paper.lr_decay_steps,
                      paper.adam_beta1, paper.adam_epsilon, paper.lambda1,
                      paper.lambda2, paper.temperature),
                     (8, 3.0, 1e-3, 0.95, 10_000, 0.5, 1e-4, 0.025, 200.0,
                      2.0))
    for name in os.listdir(CONFIGS):
      train_config.TrainConfig.load(os.path.join(CONFIGS, name))

  def test_train_step_leaves_frozen_heads_unchanged(self):
    root = self.create_tempdir().full_path
    pattern = fake_shards.write_shards(os.path.join(root, "data"), "train", 4)
    config = train_config.TrainConfig.load(os.path.join(
        CONFIGS, "tiny.json")).replace(train_pattern=pattern, batch_size=4)
    t = voice_encoder_trainer.trainer(config, os.path.join(root, "run"))
    heads = t.task.loss.decoder_fc.weights + t.task.loss.fc8.weights
    before_heads = [w.numpy().copy() for w in heads]
    before_encoder = [w.numpy().copy() for w in t.model.trainable_weights]
    batch = next(iter(t.distribute(t.task.train_dataset(0))))
    # The run starts predicting 0 (zero_init_output, the default), so the
    # first step moves only the last layer and the second all the others.
    self.assertAllEqual(t.model(batch["spectrogram"], training=False),
                        np.zeros((4, 4096)))
    losses = t.train_step(batch)
    losses = t.train_step(batch)
    self.assertEqual(t.step, 2)
    self.assertTrue(np.isfinite(float(losses["total"])))
    for before, weight in zip(before_heads, heads):
      np.testing.assert_array_equal(before, weight.numpy())
    changed = [not np.array_equal(b, w.numpy()) for b, w in
               zip(before_encoder, t.model.trainable_weights)]
    self.assertTrue(all(changed))

  def test_total_steps_read_from_the_shard_summary(self):
    root = self.create_tempdir().full_path
    data = os.path.join(root, "data")
    pattern = fake_shards.write_shards(data, "train", 8)
    config = train_config.TrainConfig.create(train_pattern=pattern,
                                             batch_size=4, epochs=3.0)
    self.assertEqual(total_steps(config), 3 * 8 // 4)  # counted
    # A finished job's summary.json (claiming 1,000 examples) is believed.
    with open(os.path.join(data, "summary.json"), "w") as f:
      json.dump({"splits": {"train": {
          "examples": 1000, "shards": 2, "finished_shards": 2,
          "pattern": os.path.join(data, "train-*-of-00002.tfrecord")}}}, f)
    self.assertEqual(total_steps(config), 3 * 1000 // 4)
    # One shard of the split is not the split: counted again.
    one = os.path.join(data, "train-00000-of-00002.tfrecord")
    self.assertEqual(total_steps(config.replace(train_pattern=one)),
                     3 * 4 // 4)

  def test_jit_compile_and_mixed_precision_train(self):
    root = self.create_tempdir().full_path
    pattern = fake_shards.write_shards(os.path.join(root, "data"), "train", 4)
    common = ["--config", os.path.join(CONFIGS, "tiny.json"),
              "--train_pattern", pattern, "--batch_size", "4",
              "--shuffle_buffer", "1", "--train_steps", "1",
              "--log_every", "1", "--eval_pattern", "",
              # A zero-initialised last layer predicts exactly 0 in any
              # precision; Keras' default shows what bfloat16 changes.
              "--zero_init_output=false"]
    # Fresh processes: XLA refuses to run where op determinism was enabled
    # (other tests here enable it process-wide).
    losses = {}
    for name, extra in (("default", []), ("jit", ["--jit_compile"]),
                        ("mixed", ["--mixed_precision"])):
      workdir = os.path.join(root, name)
      run_binary(*common, "--workdir", workdir, *extra)
      losses[name] = read_metrics(workdir)[0]["losses/total"]
    # Same seed, same first batch: XLA changes the loss only by float noise,
    # bfloat16 (8 bits of mantissa) by a little more.
    self.assertAllClose(losses["jit"], losses["default"], rtol=1e-4)
    self.assertAllClose(losses["mixed"], losses["default"], rtol=5e-2)
    self.assertNotEqual(losses["mixed"], losses["default"])
    config = train_config.TrainConfig.load(os.path.join(
        CONFIGS, "tiny.json")).replace(train_pattern=pattern,
                                       mixed_precision=True)
    t = voice_encoder_trainer.trainer(config,
                                      os.path.join(root, "in_process"))
    compute = {layer.compute_dtype for layer in t.model.layers
               if layer.weights}
    self.assertIn("bfloat16", compute)
    self.assertEqual({str(w.dtype) for w in t.model.weights}, {"float32"})
    self.assertEqual(keras.config.dtype_policy().name, "float32")
    with self.assertRaisesRegex(ValueError, "--jit_compile with "
                                "--deterministic"):
      config.replace(jit_compile=True, deterministic=True).validate()

  def test_learning_rate_schedule_staircase(self):
    root = self.create_tempdir().full_path
    config = train_config.TrainConfig.load(os.path.join(CONFIGS, "tiny.json"))
    t = voice_encoder_trainer.trainer(config.replace(train_pattern="unused"),
                                      root)
    for step, expected in ((0, 1e-3), (9_999, 1e-3), (10_000, 0.95e-3),
                           (25_000, 1e-3 * 0.95 ** 2)):
      t.optimizer.iterations.assign(step)
      self.assertAllClose(float(t.optimizer.learning_rate.numpy()), expected)


if __name__ == "__main__":
  tf.test.main()
