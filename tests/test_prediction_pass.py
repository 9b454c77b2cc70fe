"""Evaluation's prediction pass split across workers: shares, exact merges, resume."""

import json
import os

import numpy as np
import tensorflow as tf

from experiments.evaluation import eval_config
from experiments.evaluation import evaluation_lib
from experiments.evaluation import prediction_pass
from tests import binaries
from tests import fake_shards
from tests import shared_data
from tests import tiny_model


def _partial(items, sample_size, rng):
  """A worker's `predict` output over `items` (ids), reservoir-sampled."""
  reservoir = prediction_pass.Reservoir(sample_size, rng)
  for position, item in enumerate(items):
    reservoir.offer(position, item)
  kept = reservoir.in_stream_order()
  vectors = np.array([[float(i[1:]), 0.0] for i in kept], np.float32)
  return {"seen": len(items), "predicted": vectors, "true": vectors,
          "clip_ids": kept, "speaker_ids": kept,
          "faces": np.zeros((0, 1), np.uint8),
          "face_predicted": np.zeros((0, 2), np.float32),
          "face_true": np.zeros((0, 2), np.float32),
          "face_speaker_ids": [], "face_clip_ids": []}


class MergeTest(tf.test.TestCase):

  def test_merged_sample_is_uniform_over_the_whole_split(self):
    """Workers see 10, 30 and 60 clips and each keeps a reservoir of 20:
    every clip must be in the merged sample of 20 with probability 20/100.
    (Merging in proportion to the partial samples' sizes, not the workers'
    clip counts, would give the 10 clips of worker 0 probability 2/3.)"""
    root = self.create_tempdir().full_path
    streams = [[f"c{i:03d}" for i in range(lo, hi)]
               for lo, hi in ((0, 10), (10, 40), (40, 100))]
    rng = np.random.RandomState(0)
    counts = np.zeros(100)
    trials = 1500
    for trial in range(trials):
      paths = []
      for worker, items in enumerate(streams):
        path = prediction_pass.partial_path(root, "t", worker, 3)
        prediction_pass.write_partial(path, _partial(items, 20, rng), {})
        paths.append(path)
      merged = prediction_pass.merge(paths, 20, 0, seed=trial)
      self.assertEqual(merged["seen"], 100)
      self.assertLen(set(merged["clip_ids"]), 20)
      self.assertEqual(merged["clip_ids"], sorted(merged["clip_ids"]))
      # Rows stay aligned with their ids.
      self.assertAllEqual(merged["predicted"][:, 0],
                          [float(c[1:]) for c in merged["clip_ids"]])
      for clip in merged["clip_ids"]:
        counts[int(clip[1:])] += 1
    # Binomial(1500, 0.2): sd 0.0103 per clip; 100 clips within 4.5 sd.
    self.assertAllClose(counts / trials, np.full(100, 0.2), atol=0.047)
    # Per worker, the expected share 20 * n_i / 100 (sd <= 0.06).
    self.assertAllClose([counts[:10].sum() / trials,
                         counts[10:40].sum() / trials,
                         counts[40:].sum() / trials], [2, 6, 12], atol=0.25)

  def test_keep_all_when_the_split_is_smaller_than_the_sample(self):
    root = self.create_tempdir().full_path
    rng = np.random.RandomState(1)
    paths = []
    for worker, items in enumerate((["c1", "c3"], ["c0", "c2", "c4"])):
      paths.append(prediction_pass.partial_path(root, "t", worker, 2))
      prediction_pass.write_partial(paths[-1], _partial(items, 0, rng), {})
    merged = prediction_pass.merge(paths, 10, 10)
    self.assertEqual(merged["clip_ids"], ["c0", "c1", "c2", "c3", "c4"])
    self.assertEqual(merged["seen"], 5)


class ShardedEvaluationTest(tf.test.TestCase):

  def test_two_worker_processes_then_merge_equal_one_process(self):
    """Two real worker processes (the binary with --worker_index) and a
    merge give the same tables as one process over the whole split, and
    the merge predicts nothing again."""
    root = self.create_tempdir().full_path
    workdir, _, _ = tiny_model.tiny_run(root)
    test = fake_shards.write_shards(os.path.join(root, "t"), "test", 15,
                                    num_shards=3, seconds=1.5, seed=5,
                                    num_speakers=5)
    config = eval_config.EvalConfig(
        workdir=workdir, test_pattern=test, segments="3", num_tsne=10,
        database_size=15, gallery_size=5, num_galleries=3, feature_samples=0,
        image_samples=20, batch_size=4)
    single = evaluation_lib.evaluate(
        config.replace(out_dir=os.path.join(root, "one")))

    out = os.path.join(root, "two")
    flags = [f"--workdir={workdir}", f"--test_pattern={test}",
             f"--out_dir={out}", "--segments=3", "--feature_samples=0",
             "--image_samples=20", "--batch_size=4", "--num_workers=2"]
    script = os.path.join(shared_data.REPO_ROOT, "experiments", "evaluate.py")
    workers = [binaries.start([script, *flags, f"--worker_index={i}"])
               for i in range(2)]
    for worker in workers:
      stdout, stderr = worker.communicate(timeout=300)
      self.assertEqual(worker.returncode, 0, stderr[-3000:])
      self.assertIn("predictions", stdout)
    paths = [prediction_pass.partial_path(out, "3s", i, 2) for i in range(2)]
    seen = [int(np.load(p)["seen"]) for p in paths]
    # Whole files per worker: shards 0 and 2 (10 clips), shard 1 (5).
    self.assertEqual(seen, [10, 5])
    mtimes = [os.path.getmtime(p) for p in paths]
    merged = evaluation_lib.evaluate(config.replace(out_dir=out,
                                                    num_workers=2))
    self.assertEqual([os.path.getmtime(p) for p in paths], mtimes)
    self.assertEqual(merged["examples"], 15)
    for table in ("table2", "table3"):
      self._assert_same(merged[table], single[table], table)

  def _assert_same(self, a, b, where):
    """Equal structure and text, numbers within float noise."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    if isinstance(a, dict):
      self.assertEqual(sorted(a), sorted(b), where)
      for key in a:
        self._assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
      self.assertLen(a, len(b), where)
      for i, (x, y) in enumerate(zip(a, b)):
        self._assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, str):
      self.assertEqual(a, b, where)
    else:
      self.assertAllClose(a, b, atol=1e-4, msg=where)

  def test_bad_worker_flags_are_one_line_errors(self):
    result = binaries.run([
        os.path.join(shared_data.REPO_ROOT, "experiments", "evaluate.py"),
        "--workdir=w", "--test_pattern=t", "--out_dir=o", "--num_workers=2",
        "--worker_index=2"])
    self.assertEqual(result.returncode, 1)
    self.assertIn("error: --worker_index=2", result.stderr)
    self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
  tf.test.main()
