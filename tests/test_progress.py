"""Progress lines: done/total, rate and ETA, including ETAs past a day;
stage times summed over a resumed job's runs."""

import json
import os
import time
from unittest import mock

import tensorflow as tf

from s2f_tf import progress


class ProgressTest(tf.test.TestCase):

  def test_rate_and_eta_by_hand(self):
    with mock.patch.object(progress.time, "time", side_effect=[0.0, 100.0]):
      line = progress.Progress(1_000_000, every_s=0.0).update(50)
    # 50 items in 100 s: 0.5/s; 999,950 left: 1,999,900 s = 23d 03:31:40.
    self.assertEqual(line, "clips 50/1000000 (0.0%) 0.50/s ETA 23d 03:31:40")

  def test_a_resumed_run_rates_only_its_own_items(self):
    with mock.patch.object(progress.time, "time", side_effect=[0.0, 10.0]):
      line = progress.Progress(1000, every_s=0.0, resumed=600).update(20)
    # 620 of 1000 done, but only 20 of them in these 10 s: 2/s; 380 left
    # at 2/s: 190 s. (Counting the resumed 600 read 62/s and ETA 6 s.)
    self.assertEqual(line, "clips 620/1000 (62.0%) 2.00/s ETA 00:03:10")

  def test_unknown_total_prints_done_and_rate(self):
    with mock.patch.object(progress.time, "time", side_effect=[0.0, 4.0]):
      line = progress.Progress(0, every_s=0.0, name="images").update(8)
    self.assertEqual(line, "images 8 2.00/s")

  def test_lines_are_rate_limited_but_the_last_is_always_shown(self):
    clock = iter([1000.0, 1001.0, 1002.0, 1003.0])
    with mock.patch.object(progress.time, "time", lambda: next(clock)):
      p = progress.Progress(3, every_s=10.0)
      self.assertIsNotNone(p.update())  # first line
      self.assertIsNone(p.update())
      self.assertIn("3/3", p.update())

  def test_stage_times_add_up_over_a_resumed_job(self):
    path = os.path.join(self.create_tempdir().full_path, "stages.json")
    # First run: constructed at 0 s, shards end at 60 s, then killed.
    with mock.patch.object(progress.time, "monotonic",
                           side_effect=[0.0, 60.0]):
      progress.StageTimes(path).done("shards")
    # The rerun (another clock): shards resume 5 s, then training 100 s.
    with mock.patch.object(progress.time, "monotonic",
                           side_effect=[500.0, 505.0, 605.0]):
      times = progress.StageTimes(path)
      times.done("shards")
      times.done("training")
    with open(path) as f:
      self.assertEqual(json.load(f), {"shards": 65.0, "training": 100.0,
                                      "total": 165.0})
    self.assertEqual(os.listdir(os.path.dirname(path)), ["stages.json"])


  def test_total_is_the_sum_of_the_stages_kept(self):
    path = os.path.join(self.create_tempdir().full_path, "stages.json")
    # Later stages removed by hand to redo them, the total with them.
    with open(path, "w") as f:
      json.dump({"shards": 60.0, "training": 100.0}, f)
    with mock.patch.object(progress.time, "monotonic",
                           side_effect=[0.0, 1.0, 41.0]):
      times = progress.StageTimes(path)
      times.done("training")
      times.done("table")
    with open(path) as f:
      self.assertEqual(json.load(f), {"shards": 60.0, "training": 101.0,
                                      "table": 40.0, "total": 201.0})

  def test_forgotten_stages_leave_the_total_of_the_rest(self):
    path = os.path.join(self.create_tempdir().full_path, "stages.json")
    with open(path, "w") as f:
      json.dump({"shards": 60.0, "training": 100.0, "table": 40.0,
                 "total": 200.0}, f)
    times = progress.StageTimes(path, heartbeat_s=0)
    times.forget(("training", "table", "package"))
    with open(path) as f:
      self.assertEqual(json.load(f), {"shards": 60.0, "total": 60.0})
    self.assertEqual(times.seconds, {"shards": 60.0, "total": 60.0})

  def test_a_stage_killed_midway_keeps_its_time_so_far(self):
    path = os.path.join(self.create_tempdir().full_path, "stages.json")
    times = progress.StageTimes(path, heartbeat_s=0.02)
    times.done("shards")
    times.begin("training")
    saved, deadline = {}, time.monotonic() + 30.0
    while saved.get("training", 0.0) < 0.1 and time.monotonic() < deadline:
      time.sleep(0.02)
      with open(path) as f:
        saved = json.load(f)
    times.close()  # Killed here, before `done("training")`: the file holds
    # the running stage's time so far and the total with it; the resumed
    # job starts from them.
    with open(path) as f:
      saved = json.load(f)
    self.assertGreaterEqual(saved["training"], 0.1)
    self.assertAlmostEqual(saved["total"],
                           saved["shards"] + saved["training"], places=6)
    resumed = progress.StageTimes(path, heartbeat_s=0)
    self.assertEqual(resumed.seconds, saved)
    resumed.done("training")
    with open(path) as f:
      final = json.load(f)
    self.assertGreaterEqual(final["training"], saved["training"])
    self.assertEqual(final["shards"], saved["shards"])

  def test_cpu_description_names_model_cores_and_avx512(self):
    root = self.create_tempdir().full_path
    for flags_line, said in (("fpu avx2 avx512f avx512bw", ", AVX-512"),
                             ("fpu avx avx2", ", no AVX-512")):
      path = os.path.join(root, "cpuinfo")
      with open(path, "w") as f:
        f.write("processor\t: 0\nmodel name\t: AMD EPYC 9B14\n"
                f"flags\t\t: {flags_line}\n\nprocessor\t: 1\n"
                "model name\t: AMD EPYC 9B14\n")
      self.assertEqual(progress.cpu_description(path),
                       f"AMD EPYC 9B14, {os.cpu_count()} cores{said}")
    self.assertEqual(progress.cpu_description(os.path.join(root, "none")),
                     f"unknown CPU, {os.cpu_count()} cores")


if __name__ == "__main__":
  tf.test.main()
