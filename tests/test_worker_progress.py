"""One progress line for a job of many worker processes: counts by file, summed in the main process."""

import multiprocessing
import os
from unittest import mock

import tensorflow as tf

from data_prep import worker_progress
from s2f_tf import progress as progress_lib


def _worker(output_dir, n):
  counter = worker_progress.WorkerCounter(output_dir, every_s=0.0)
  for _ in range(n):
    counter.add()


class WorkerProgressTest(tf.test.TestCase):

  def test_counts_of_separate_processes_add_up(self):
    out = self.create_tempdir().full_path
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(out, n)) for n in (3, 4)]
    for w in workers:
      w.start()
    for w in workers:
      w.join()
    self.assertEqual(worker_progress.total_done(out), 7)

  def test_a_counter_writes_at_most_every_every_s_and_on_flush(self):
    out = self.create_tempdir().full_path
    clock = iter([0.0, 1.0, 2.5, 3.0, 3.5])
    counter = worker_progress.WorkerCounter(out, every_s=2.0,
                                            clock=lambda: next(clock))
    counter.add()  # first add: written (t = 0)
    self.assertEqual(worker_progress.total_done(out), 1)
    counter.add()  # t = 1: not yet
    self.assertEqual(worker_progress.total_done(out), 1)
    counter.add()  # t = 2.5: written
    self.assertEqual(worker_progress.total_done(out), 3)
    counter.add()  # t = 3: not yet
    self.assertEqual(worker_progress.total_done(out), 3)
    counter.flush()  # t = 3.5
    self.assertEqual(worker_progress.total_done(out), 4)

  def test_the_watcher_prints_one_line_for_all_workers_and_cleans_up(self):
    out = self.create_tempdir().full_path
    lines = []
    with mock.patch.object(progress_lib, "report", lines.append):
      with worker_progress.Watcher(out, total=5, poll_s=0.01,
                                   every_s=3600.0):
        _worker(out, 2)
        _worker(out, 3)
    # Rate-limited to one line an hour, but the last line always shows, and
    # it counts both workers' clips against the job's total.
    self.assertBetween(len(lines), 1, 2)
    self.assertStartsWith(lines[-1], "clips 5/5 (100.0%)")
    self.assertFalse(os.path.exists(worker_progress.folder(out)))


if __name__ == "__main__":
  tf.test.main()
