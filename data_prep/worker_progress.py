"""One progress line for a job whose clips are done by several worker processes.

Each worker (a Beam DoFn, in this process or another, on this machine or
another) counts its own clips into a small file under the job's
`.progress/` folder, rewritten atomically at most every `every_s`. The main
process sums the files and prints one done/total line with rate and ETA
(`s2f_tf.progress`) for the whole job: N workers no longer print N lines,
each against every pending clip.
"""

import os
import socket
import threading
import uuid

import tensorflow as tf

from s2f_tf import progress as progress_lib

FOLDER = ".progress"
SUFFIX = ".count"


def folder(output_dir):
  return os.path.join(output_dir, FOLDER)


class WorkerCounter:
  """A worker's own count of done clips, written to its file."""

  def __init__(self, output_dir, every_s=2.0, clock=None):
    self._path = os.path.join(
        folder(output_dir),
        f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}")
    self._every_s = every_s
    self._clock = clock or progress_lib.time.time
    self._done = 0
    self._written = None
    tf.io.gfile.makedirs(folder(output_dir))

  def add(self, n=1):
    self._done += n
    now = self._clock()
    if self._written is None or now - self._written >= self._every_s:
      self.flush(now)

  def flush(self, now=None):
    temp = self._path + ".tmp"
    with tf.io.gfile.GFile(temp, "w") as f:
      f.write(str(self._done))
    tf.io.gfile.rename(temp, self._path, overwrite=True)
    self._written = self._clock() if now is None else now


def total_done(output_dir):
  """The sum of every worker's count."""
  done = 0
  for path in tf.io.gfile.glob(os.path.join(folder(output_dir),
                                            "*" + SUFFIX)):
    try:
      with tf.io.gfile.GFile(path) as f:
        done += int(f.read().strip() or 0)
    except (ValueError, tf.errors.NotFoundError):
      continue  # a file being replaced: read on the next poll
  return done


def clear(output_dir):
  """Removes the counts of an earlier run."""
  if tf.io.gfile.exists(folder(output_dir)):
    tf.io.gfile.rmtree(folder(output_dir))


class Watcher:
  """In the main process: polls the workers' counts and prints one line
  (`Progress`), the last one when the job ends.

    with Watcher(output_dir, total):
      run the pipeline
  """

  def __init__(self, output_dir, total, poll_s=1.0, every_s=10.0,
               name="clips"):
    self._output_dir = output_dir
    self._poll_s = poll_s
    self.progress = progress_lib.Progress(total, every_s=every_s, name=name)
    self._seen = 0
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def _poll(self):
    done = min(total_done(self._output_dir), self.progress.total or
               float("inf"))
    if done > self._seen:
      self.progress.update(done - self._seen)
      self._seen = done

  def _run(self):
    while not self._stop.wait(self._poll_s):
      self._poll()

  def __enter__(self):
    clear(self._output_dir)
    tf.io.gfile.makedirs(folder(self._output_dir))
    self._thread.start()
    return self

  def __exit__(self, *unused):
    self._stop.set()
    self._thread.join()
    self._poll()
    clear(self._output_dir)
