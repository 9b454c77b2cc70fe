"""Multi-worker training: two worker processes on 127.0.0.1 with TF_CONFIG.

Same losses as one worker on the same global batch (synchronised BN, each
worker's replica takes its half of every global batch); only the chief
writes the run's files; a killed pair of workers resumes from the chief's
checkpoint.
"""

import glob
import os
import tempfile
import time

import tensorflow as tf

from experiments.bench import local_workers
from s2f_tf import run_record
from tests import binaries
from tests import fake_shards
from tests import shared_data

BINARY = os.path.join(shared_data.REPO_ROOT, "experiments", "train.py")
TINY = os.path.join(shared_data.REPO_ROOT, "experiments", "configs",
                    "voice_encoder", "tiny.json")
TIMEOUT_S = 300


def start_workers(args):
  """Two worker processes (own process groups) of the training binary."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
             PYTHONPATH=shared_data.REPO_ROOT)
  return local_workers.start_workers(BINARY, args, 2, env)


def wait_ok(test, processes):
  """Waits for every worker; asserts each exited 0; returns their stderr."""
  logs = local_workers.wait(processes, TIMEOUT_S)
  for process, log in zip(processes, logs):
    test.assertEqual(process.returncode, 0, log[-3000:])
  return logs


class MultiWorkerTest(tf.test.TestCase):

  def _common(self, root):
    train = fake_shards.write_shards(os.path.join(root, "data"), "train", 16,
                                     num_shards=1)
    return ["--config", TINY, "--train_pattern", train, "--eval_pattern", "",
            "--batch_size", "8", "--deterministic", "--log_every", "1",
            "--image_every", "100"]

  def test_two_workers_match_one_and_only_the_chief_writes(self):
    root = self.create_tempdir().full_path
    common = self._common(root)
    one = os.path.join(root, "one")
    binaries.run_ok([BINARY, *common, "--workdir", one, "--train_steps", "3",
                     "--checkpoint_every", "3"])
    two = os.path.join(root, "two")
    scratch = os.path.join(tempfile.gettempdir(), "s2f_worker_*")
    scratch_before = set(glob.glob(scratch))
    logs = wait_ok(self, start_workers([*common, "--workdir", two,
                                        "--train_steps", "3",
                                        "--checkpoint_every", "3"]))
    # The non-chief's scratch record is removed when its run ends.
    self.assertEmpty(set(glob.glob(scratch)) - scratch_before)
    self.assertIn("2 replicas in sync", logs[0])
    losses = lambda w: [m["losses/total"] for m in
                        run_record.read_metrics(w)]
    self.assertLen(losses(two), 3)  # one writer, not two
    self.assertAllClose(losses(one)[0], losses(two)[0], rtol=2e-5, atol=0)
    self.assertAllClose(losses(one), losses(two), rtol=1e-3, atol=0)
    self.assertLen(tf.io.gfile.glob(os.path.join(two, "train", "events.*")),
                   1)
    self.assertTrue(tf.train.latest_checkpoint(os.path.join(
        two, run_record.CHECKPOINT_DIR)).endswith("-3"))

  def test_killed_workers_resume_from_the_chiefs_checkpoint(self):
    root = self.create_tempdir().full_path
    common = self._common(root)
    workdir = os.path.join(root, "run")
    checkpoints = os.path.join(workdir, run_record.CHECKPOINT_DIR)
    workers = start_workers([*common, "--workdir", workdir,
                             "--train_steps", "100000",
                             "--checkpoint_every", "2"])
    try:
      deadline = time.time() + TIMEOUT_S
      while (tf.train.latest_checkpoint(checkpoints) is None
             and time.time() < deadline
             and all(w.poll() is None for w in workers)):
        time.sleep(0.2)
      self.assertTrue(all(w.poll() is None for w in workers),
                      [w.stderr.read()[-2000:] for w in workers
                       if w.poll() is not None])
    finally:
      local_workers.stop(workers)
    saved = int(tf.train.latest_checkpoint(checkpoints).rsplit("-", 1)[1])
    target = saved + 2
    logs = wait_ok(self, start_workers([*common, "--workdir", workdir,
                                        "--train_steps", str(target),
                                        "--checkpoint_every", "2"]))
    for log in logs:
      self.assertIn(f"Resumed from {checkpoints}", log)
    self.assertTrue(tf.train.latest_checkpoint(checkpoints).endswith(
        f"-{target}"))
    steps = [m["step"] for m in run_record.read_metrics(workdir)]
    self.assertEqual(steps[-2:], [target - 1, target])


if __name__ == "__main__":
  tf.test.main()
