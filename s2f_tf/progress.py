"""Progress lines of long jobs: done/total, percent, rate and ETA.

Used by the shard job, the decoder-data job and evaluation (the trainers'
step lines come from `run_record`, with the same duration format).
"""

import json
import os
import sys
import threading
import time

from absl import logging


def report(line):
  """A line a person running the job should see (progress, resumes): on
  stderr whatever the log verbosity, and in the log."""
  print(line, file=sys.stderr, flush=True)
  logging.debug(line)


def format_duration(seconds):
  """'HH:MM:SS', or 'Nd HH:MM:SS' past a day."""
  seconds = int(max(seconds, 0))
  days, rest = divmod(seconds, 86400)
  text = time.strftime("%H:%M:%S", time.gmtime(rest))
  return f"{days}d {text}" if days else text


class Progress:
  """Thread-safe done/total with rate and ETA, logged at most every `every_s`.

  total: items expected; 0 when unknown (then done and rate only).
  resumed: items an earlier run finished: counted as done, but not in the
    rate (they took no time in this run).
  """

  def __init__(self, total, every_s=10.0, name="clips", resumed=0):
    self.total, self.every_s, self.name = total, every_s, name
    self.done = self.resumed = resumed
    self.start = time.time()
    self.last = 0.0
    self._lock = threading.Lock()

  def update(self, n=1):
    """Adds `n` done; returns the line when one is logged, else None."""
    with self._lock:
      self.done += n
      now = time.time()
      if now - self.last < self.every_s and (not self.total or
                                             self.done < self.total):
        return None
      self.last = now
      rate = (self.done - self.resumed) / max(now - self.start, 1e-9)
      if self.total:
        eta = (self.total - self.done) / max(rate, 1e-9)
        line = (f"{self.name} {self.done}/{self.total} "
                f"({100.0 * self.done / self.total:.1f}%) "
                f"{rate:.2f}/s ETA {format_duration(eta)}")
      else:  # total unknown
        line = f"{self.name} {self.done} {rate:.2f}/s"
      report(line)
      return line


def _with_total(seconds):
  """`seconds` (stage -> seconds) with "total" set to the stages' sum."""
  stages = {key: value for key, value in seconds.items() if key != "total"}
  return {**stages, "total": sum(stages.values())}


class StageTimes:
  """Wall seconds per stage of a resumable job, summed over every run of it.

  `done(stage)` adds the time since the previous stage ended (or since
  construction) to that stage and to "total" in a JSON file (written
  atomically), so a job resumed across machines still reports what it cost.
  `begin(stage)` marks the stage that is running: until its `done`, its time
  so far is saved every `heartbeat_s` seconds, so a job killed mid-stage
  loses at most that much of it.
  """

  def __init__(self, path, heartbeat_s=60.0):
    self.path = path
    self.seconds = {}
    if os.path.isfile(path):
      with open(path) as f:
        self.seconds = json.load(f)
    self.start = time.monotonic()
    self._heartbeat_s = heartbeat_s
    self._running = None
    self._lock = threading.Lock()
    self._beating = None
    self._closed = threading.Event()

  def begin(self, stage):
    with self._lock:
      self._running = stage
    if self._beating is None and self._heartbeat_s:
      self._beating = threading.Thread(target=self._beat, daemon=True)
      self._beating.start()

  def done(self, stage):
    with self._lock:
      now = time.monotonic()
      spent, self.start = now - self.start, now
      self.seconds = self._added(stage, spent)
      self._running = None
      self._write(self.seconds)
    report(f"stage {stage}: {format_duration(spent)} this run, "
           f"{format_duration(self.seconds[stage])} in all; all stages "
           f"{format_duration(self.seconds['total'])} "
           f"({os.path.basename(self.path)})")

  def forget(self, stages):
    """Drops `stages`' times (they are to be redone); the total is the sum
    of the rest."""
    with self._lock:
      self.seconds = _with_total({key: value for key, value
                                  in self.seconds.items() if key not in stages})
      self._write(self.seconds)

  def close(self):
    """Stops saving the running stage's time (the job ends or dies)."""
    self._closed.set()
    if self._beating is not None:
      self._beating.join()

  def _beat(self):
    while not self._closed.wait(self._heartbeat_s):
      with self._lock:
        if self._running is None:
          continue
        spent = time.monotonic() - self.start
        try:
          self._write(self._added(self._running, spent))
        except OSError as e:
          logging.warning("stage times: cannot save %s (%s); the running "
                          "stage's time is saved when it ends", self.path, e)
          return

  def _added(self, stage, spent):
    """The record with `spent` seconds more for `stage`, and the total as
    the sum of the stages (so a file whose stages were removed to redo them
    still totals what the kept and redone stages cost)."""
    seconds = dict(self.seconds)
    seconds[stage] = seconds.get(stage, 0.0) + spent
    return _with_total(seconds)

  def _write(self, seconds):
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      json.dump(seconds, f, indent=2)
    os.replace(tmp, self.path)


def cpu_description(cpuinfo="/proc/cpuinfo"):
  """The machine's CPU as times should name it: model, core count, whether
  it has AVX-512 (TensorFlow runs 2-4x apart with and without it)."""
  model, avx512 = "unknown CPU", None
  try:
    with open(cpuinfo) as f:
      for line in f:
        if line.startswith("model name") and model == "unknown CPU":
          model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and avx512 is None:
          avx512 = "avx512f" in line.split(":", 1)[1].split()
  except OSError:
    pass
  return (f"{model}, {os.cpu_count()} cores" +
          {True: ", AVX-512", False: ", no AVX-512", None: ""}[avx512])
