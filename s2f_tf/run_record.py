"""The record a training run keeps in its workdir: config, metrics, progress.

Both trainers (voice encoder, face decoder) write config.json once per
invocation, append every logged step to metrics.jsonl, mirror the scalars to
TensorBoard and print a progress line with rate and ETA.
"""

import json
import os
import time

from absl import logging
import numpy as np
import tensorflow as tf

from s2f_tf import progress

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"


def write_config(config_json, workdir):
  """Creates `workdir` and writes config.json into it.

  A differing config.json from an earlier run is kept as .previous.
  """
  tf.io.gfile.makedirs(workdir)
  path = os.path.join(workdir, CONFIG_FILE)
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      if f.read() != config_json:
        logging.warning("%s differs from this run's config; the new one is "
                        "written and the old kept as %s.previous", path, path)
        tf.io.gfile.copy(path, path + ".previous", overwrite=True)
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(config_json)


def restore_dir(workdir, warm_start=""):
  """The workdir a run restores from: its own once it holds a checkpoint,
  else `warm_start` (FileNotFoundError naming it when it holds none)."""
  if not warm_start or tf.train.latest_checkpoint(os.path.join(
      workdir, CHECKPOINT_DIR)):
    return workdir
  if not tf.train.latest_checkpoint(os.path.join(warm_start, CHECKPOINT_DIR)):
    raise FileNotFoundError(f"--warm_start {warm_start} holds no checkpoint "
                            f"(no {CHECKPOINT_DIR}/ with a saved step)")
  return warm_start


def warm_start_step(warm_start):
  """The step of `warm_start`'s newest checkpoint, where a warm-started
  phase begins (0 without a warm start)."""
  if not warm_start:
    return 0
  latest = tf.train.latest_checkpoint(os.path.join(warm_start,
                                                   CHECKPOINT_DIR))
  return int(latest.rsplit("-", 1)[1]) if latest else 0


def checkpoint_manager(workdir, max_to_keep, restore_from=None, **objects):
  """A CheckpointManager over `objects` in workdir/checkpoints, restored.

  The newest checkpoint of `restore_from` (default `workdir`; a non-chief
  worker saves to scratch but restores from the chief's workdir), if any,
  is restored (call inside the strategy scope that created `objects`);
  every existing object must match it.
  """
  checkpoint = tf.train.Checkpoint(**objects)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(workdir, CHECKPOINT_DIR),
      max_to_keep=max_to_keep)
  latest = tf.train.latest_checkpoint(os.path.join(restore_from or workdir,
                                                   CHECKPOINT_DIR))
  if latest:
    try:
      checkpoint.restore(latest).assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as e:
      first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
      raise ValueError(
          f"{latest} is a checkpoint of a different model than this config "
          f"builds ({first[:200]}); resume it with the config.json beside "
          "it, or train in a new workdir") from e
    progress.report(f"Resumed from {latest}")
  return manager


class NonFiniteLossError(ValueError):
  """A loss term became NaN or Inf; training stopped without saving."""


def check_finite(step, losses, manager):
  """Raises NonFiniteLossError naming the step and terms if any is not finite.

  Call before saving: the newest checkpoint in `manager` is then the last
  good one, and the message names it.
  """
  bad = {name: float(value) for name, value in losses.items()
         if not np.isfinite(float(value))}
  if bad:
    raise NonFiniteLossError(
        f"non-finite loss at step {step}: "
        + ", ".join(f"{name}={value}" for name, value in sorted(bad.items()))
        + f"; stopped without saving; last good checkpoint: "
        f"{manager.latest_checkpoint or 'none'}")


def read_metrics(workdir):
  with tf.io.gfile.GFile(os.path.join(workdir, METRICS_FILE)) as f:
    return [json.loads(line) for line in f if line.strip()]


class RunRecord:
  """Scalars to TensorBoard + metrics.jsonl, and the progress line."""

  def __init__(self, workdir, batch_size):
    self.workdir = workdir
    self.batch_size = batch_size
    self.writer = tf.summary.create_file_writer(os.path.join(workdir, "train"))
    self._window_start = time.perf_counter()
    self._window_steps = 0

  def step_done(self):
    self._window_steps += 1

  def log(self, step, total, losses, learning_rate):
    """Writes losses/<name>, learning_rate, examples_per_s; prints progress."""
    seconds = time.perf_counter() - self._window_start
    rate = self._window_steps / max(seconds, 1e-9)
    record = {"step": step, "learning_rate": float(learning_rate),
              "examples_per_s": rate * self.batch_size,
              **{f"losses/{k}": float(v) for k, v in losses.items()}}
    with self.writer.as_default(step=step):
      for name, value in record.items():
        if name != "step":
          tf.summary.scalar(name, value)
    with tf.io.gfile.GFile(os.path.join(self.workdir, METRICS_FILE),
                           "a") as f:
      f.write(json.dumps(record) + "\n")
    progress.report(
        f"step {step}/{total} ({100.0 * step / total:.1f}%) {rate:.2f} "
        f"steps/s {record['examples_per_s']:.1f} ex/s ETA "
        f"{progress.format_duration((total - step) / max(rate, 1e-9))} loss "
        f"{float(losses['total']):.4f} lr {float(learning_rate):.2e}")
    self._window_start, self._window_steps = time.perf_counter(), 0
    return record
