"""Both trainers: a resumed run equals an uninterrupted one; non-finite losses stop.

N steps straight vs N/2 steps, a new process, N/2 more (the real binaries,
CPU, --deterministic: op determinism and a fixed data order). Every variable
of the final checkpoint (model, optimizer slots, step) must agree to 1e-6
relative / absolute: the same ops on the same data in the same order, so
only a different batch or a lost optimizer state could move them further.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from s2f_tf import dvector_head_trainer
from s2f_tf import run_record
from s2f_tf import train_config
from s2f_tf import training_loop
from s2f_tf import voice_encoder_trainer
from tests import binaries
from tests import fake_shards
from tests import shared_data

EXPERIMENTS = os.path.join(shared_data.REPO_ROOT, "experiments")
CONFIGS = os.path.join(EXPERIMENTS, "configs")
TOLERANCE = 1e-6


def checkpoint_values(workdir, step=None):
  """(path, {variable: value}) of the newest checkpoint, or of `step`'s."""
  directory = os.path.join(workdir, run_record.CHECKPOINT_DIR)
  path = tf.train.latest_checkpoint(directory) if step is None else \
      os.path.join(directory, f"ckpt-{step}")
  reader = tf.train.load_checkpoint(path)
  return path, {name: reader.get_tensor(name)
                for name, _ in tf.train.list_variables(path)
                if name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")}


class ResumeTest(tf.test.TestCase):

  def _decoder_run(self):
    """(binary, flags) of a deterministic tiny face-decoder run on fresh
    fake decoder data."""
    data = os.path.join(self.create_tempdir().full_path, "decoder_data")
    fake_shards.write_decoder_data(data)
    return os.path.join(EXPERIMENTS, "train_face_decoder.py"), [
        "--config", os.path.join(CONFIGS, "face_decoder", "tiny.json"),
        "--data_dir", data, "--batch_size", "2", "--deterministic",
        "--log_every", "1", "--checkpoint_every", "2", "--image_every", "100"]

  def _assert_same_checkpoint(self, a, b):
    """Every variable of two checkpoints (checkpoint_values), Adam's
    moments and the step count included, agrees to TOLERANCE."""
    self.assertEqual(sorted(a), sorted(b))
    self.assertGreater(len([n for n in a if n.startswith(
        "optimizer/_variables/")]), 0)
    self.assertIn("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE", a)
    for name in a:
      self.assertAllClose(a[name], b[name], rtol=TOLERANCE, atol=TOLERANCE,
                          msg=name)

  def _straight_vs_resumed(self, binary, common, steps):
    root = self.create_tempdir().full_path
    straight = os.path.join(root, "straight")
    resumed = os.path.join(root, "resumed")
    binaries.run_ok([binary, *common, "--workdir", straight,
                     "--train_steps", str(steps)])
    binaries.run_ok([binary, *common, "--workdir", resumed,
                     "--train_steps", str(steps // 2)])
    log = binaries.run_ok([binary, *common, "--workdir", resumed,
                           "--train_steps", str(steps)])
    self.assertIn("Resumed from", log)
    path_a, a = checkpoint_values(straight)
    path_b, b = checkpoint_values(resumed)
    self.assertTrue(path_a.endswith(f"-{steps}") and
                    path_b.endswith(f"-{steps}"))
    self._assert_same_checkpoint(a, b)
    losses = lambda w: [m["losses/total"] for m in
                        run_record.read_metrics(w)]
    self.assertAllClose(losses(straight), losses(resumed), rtol=TOLERANCE,
                        atol=TOLERANCE)
    return resumed

  def test_voice_encoder_resume_is_exact(self):
    root = self.create_tempdir().full_path
    # 16 clips, batch 4: a replayed run would see batches 0, 1, 0, 1.
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 16,
                                     num_shards=1)
    self._straight_vs_resumed(
        os.path.join(EXPERIMENTS, "train.py"),
        ["--config", os.path.join(CONFIGS, "voice_encoder", "tiny.json"),
         "--train_pattern", train, "--eval_pattern", "", "--batch_size", "4",
         "--deterministic", "--log_every", "1", "--checkpoint_every", "2",
         "--image_every", "100"], steps=4)

  def test_face_decoder_resume_is_exact(self):
    binary, common = self._decoder_run()
    resumed = self._straight_vs_resumed(binary, common, steps=4)
    # A lower-rate phase: resumed with a new constant --learning_rate, it
    # trains at that rate (the checkpoint holds the old rate as a variable,
    # which used to win).
    binaries.run_ok([binary, *common, "--workdir", resumed, "--train_steps",
                     "6", "--learning_rate", "2e-5"])
    rates = [m["learning_rate"] for m in run_record.read_metrics(resumed)]
    config = train_config.DecoderTrainConfig.load(os.path.join(
        CONFIGS, "face_decoder", "tiny.json"))
    self.assertAllClose(rates, [config.learning_rate] * 4 + [2e-5] * 2)

  def test_face_decoder_with_the_identity_term_resumes_exactly(self):
    """The identity term's chip jitter draws at random each step; its
    generator is not in the checkpoint, so a resumed run sets it to where
    the steps before left it (it used to restart, and the runs parted)."""
    data = os.path.join(self.create_tempdir().full_path, "decoder_data")
    fake_shards.write_decoder_data(data, teacher="dlib128")
    self._straight_vs_resumed(
        os.path.join(EXPERIMENTS, "train_face_decoder.py"),
        ["--config", os.path.join(CONFIGS, "face_decoder", "tiny.json"),
         "--data_dir", data, "--batch_size", "2", "--deterministic",
         "--log_every", "1", "--checkpoint_every", "2", "--image_every",
         "100", "--identity_weight", "0.3", "--identity_jitter", "0.1"],
        steps=4)

  def test_warm_start_continues_another_runs_checkpoint(self):
    """A new workdir warm-started from a 2-step run trains steps 3-4 from
    that run's weights, Adam moments and step, and never writes into the
    run it started from. (Ignoring --warm_start would start at step 0.)"""
    root = self.create_tempdir().full_path
    binary, common = self._decoder_run()
    base, warm = os.path.join(root, "base"), os.path.join(root, "warm")
    binaries.run_ok([binary, *common, "--workdir", base, "--train_steps",
                     "2"])
    log = binaries.run_ok([binary, *common, "--workdir", warm,
                           "--warm_start", base, "--train_steps", "4"])
    self.assertIn(f"Resumed from {base}", log)
    self.assertEqual(checkpoint_values(base)[0],
                     os.path.join(base, run_record.CHECKPOINT_DIR, "ckpt-2"))
    self.assertEqual([m["step"] for m in run_record.read_metrics(warm)],
                     [3, 4])
    iterations = "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    _, before = checkpoint_values(base)
    _, after = checkpoint_values(warm, step=4)
    self.assertEqual(int(before[iterations]), 2)
    self.assertEqual(int(after[iterations]), 4)
    weights = [n for n in before if n.startswith(
        "optimizer/_trainable_variables/")]
    self.assertNotEmpty(weights)
    self.assertTrue(any(not np.allclose(before[n], after[n])
                        for n in weights))
    # Rerun, the warm run resumes its own checkpoint, not the base's.
    log = binaries.run_ok([binary, *common, "--workdir", warm,
                           "--warm_start", base, "--train_steps", "5"])
    self.assertIn(f"Resumed from {warm}", log)

  def test_warm_started_phase_skips_only_its_own_steps(self):
    """A phase warm-started from a 3-step run reads its data from the
    start; resumed at its step 4 it passes over its own 1 step's batch,
    not the 4 steps since the base run began (which took the recipe's
    identity and fine-tuning stages ~20 min of reading each)."""
    root = self.create_tempdir().full_path
    skips = []

    class Recording(dvector_head_trainer.DvectorHeadTask):

      def train_dataset(self, skip_examples):
        skips.append(skip_examples)
        return super().train_dataset(skip_examples)

    rng = np.random.RandomState(0)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 3)).astype(np.float32)
    decoder_fc = keras.layers.Dense(5)
    decoder_fc.build((None, 3))
    decoder_fc.trainable = False
    config = train_config.TrainConfig().replace(
        train_pattern="in memory", encoder="ge2e", head_hidden=4,
        batch_size=2, log_every=0, image_every=0, checkpoint_every=1,
        eval_every=0, keep_checkpoints=5)
    base, warm = os.path.join(root, "base"), os.path.join(root, "warm")

    def run(workdir, steps, **flags):
      task = Recording(config.replace(train_steps=steps, **flags), x, y,
                       decoder_fc)
      training_loop.TrainingLoop(task, workdir).train()

    run(base, 3)
    run(warm, 4, warm_start=base)
    run(warm, 5, warm_start=base)
    self.assertEqual(skips, [0, 0, 2])

  def test_warm_start_without_a_checkpoint_is_one_clear_line(self):
    root = self.create_tempdir().full_path
    binary, common = self._decoder_run()
    result = binaries.run([
        binary, *common, "--workdir", os.path.join(root, "run"),
        "--warm_start", os.path.join(root, "nothing"), "--train_steps", "1"])
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("error: ")]
    self.assertEqual(errors, [
        f"error: --warm_start {os.path.join(root, 'nothing')} holds no "
        "checkpoint (no checkpoints/ with a saved step)"], result.stderr)

  def test_checkpoint_of_another_model_is_one_clear_line(self):
    """A workdir from another architecture (here BN on, then off) fails
    before training with what to do, not a restore traceback."""
    root = self.create_tempdir().full_path
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 4,
                                     num_shards=1)
    binary = os.path.join(EXPERIMENTS, "train.py")
    common = ["--config", os.path.join(CONFIGS, "voice_encoder", "tiny.json"),
              "--train_pattern", train, "--eval_pattern", "",
              "--workdir", os.path.join(root, "run")]
    binaries.run_ok([binary, *common, "--train_steps", "1"])
    result = binaries.run([binary, *common, "--train_steps", "2",
                           "--nouse_batch_norm"])
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    self.assertNotIn("Traceback", result.stderr)
    # (TensorFlow may log unmatched checkpoint values as the process exits.)
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("error: ")]
    self.assertLen(errors, 1, result.stderr[-2000:])
    error = errors[0]
    self.assertIn("checkpoint of a different model", error)
    self.assertIn("new workdir", error)


class DistributedTest(tf.test.TestCase):

  def test_mirrored_two_replicas_normalise_like_one_device(self):
    """Synchronised BN: 2 replicas x 4 clips == 1 device x 8 clips.

    The first step's loss (forward pass in training mode) agrees to 2e-5
    relative and the BN moving statistics it updates to 1e-4 absolute, the
    next steps' losses to 1e-3: only the order
    of float sums differs. Per-replica BN normalises each half batch by its
    own statistics (measured here: loss off by 1.1e-4 relative).
    """
    root = self.create_tempdir().full_path
    # Each replica's half of the batch is one speaker (pitch 100 vs 180 Hz,
    # fc7 offset 0 vs 2), so per-replica statistics differ from the global.
    train = os.path.join(root, "train-00000-of-00001.tfrecord")
    rng = np.random.RandomState(0)
    with tf.io.TFRecordWriter(train) as writer:
      for index in range(8):
        writer.write(fake_shards.fake_example(index, 0 if index < 4 else 2,
                                              2.5, rng))
    common = ["--config", os.path.join(CONFIGS, "voice_encoder", "tiny.json"),
              "--train_pattern", train, "--eval_pattern", "",
              "--batch_size", "8", "--deterministic", "--log_every", "1",
              "--checkpoint_every", "1", "--image_every", "100",
              "--train_steps", "3"]
    binary = os.path.join(EXPERIMENTS, "train.py")
    one = os.path.join(root, "one")
    two = os.path.join(root, "two")
    binaries.run_ok([binary, *common, "--workdir", one])
    log = binaries.run_ok([binary, *common, "--workdir", two,
                           "--num_cpu_devices", "2", "--strategy", "mirrored"])
    self.assertIn("2 replicas in sync", log)
    losses = lambda w: [m["losses/total"] for m in
                        run_record.read_metrics(w)]
    self.assertAllClose(losses(one)[0], losses(two)[0], rtol=2e-5, atol=0)
    # Steps 2 and 3 run on the updated weights: the same to 1e-3 (Adam's
    # first steps are sign-like, so float noise in near-zero gradients moves
    # single weights by up to 2 x lr; elementwise weights are not compared).
    self.assertAllClose(losses(one), losses(two), rtol=1e-3, atol=0)
    a = checkpoint_values(one, step=1)[1]
    b = checkpoint_values(two, step=1)[1]
    moving = [n for n in a if "moving_" in n]
    self.assertNotEmpty(moving)
    for name in moving:
      self.assertAllClose(a[name], b[name], rtol=0, atol=1e-4, msg=name)


class NonFiniteTest(tf.test.TestCase):

  def test_nan_batch_stops_with_step_and_term_and_keeps_good_checkpoint(self):
    root = self.create_tempdir().full_path
    pattern = fake_shards.write_shards(os.path.join(root, "data"), "train", 8)
    config = train_config.TrainConfig.load(os.path.join(
        CONFIGS, "voice_encoder", "tiny.json")).replace(
            train_pattern=pattern, batch_size=4, train_steps=5,
            checkpoint_every=1, log_every=1, image_every=100,
            deterministic=True)
    workdir = os.path.join(root, "run")
    t = voice_encoder_trainer.trainer(config, workdir)
    good = t.task.train_dataset(0).take(2)
    poisoned = good.take(1).map(
        lambda b: dict(b, fc7=b["fc7"] * float("nan")))
    t.task.train_dataset = lambda skip: good.concatenate(poisoned)
    with self.assertRaises(run_record.NonFiniteLossError) as ctx:
      t.train()
    message = str(ctx.exception)
    self.assertIn("step 3", message)
    self.assertIn("feature_l2=nan", message)
    self.assertIn("ckpt-2", message)
    latest = tf.train.latest_checkpoint(os.path.join(
        workdir, run_record.CHECKPOINT_DIR))
    self.assertTrue(latest.endswith("ckpt-2"), latest)
    reader = tf.train.load_checkpoint(latest)
    for name, _ in tf.train.list_variables(latest):
      value = reader.get_tensor(name)
      if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        self.assertTrue(np.all(np.isfinite(value)), name)


if __name__ == "__main__":
  tf.test.main()
