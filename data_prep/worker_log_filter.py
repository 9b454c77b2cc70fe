"""Keeps the INFO lines of Beam's local worker processes off the terminal.

Beam's multi-process DirectRunner starts each worker as a subprocess that
writes to this process's stderr and logs at INFO until its pipeline
options reach it (about 15 lines a worker: channels, state cache, harness
start and stop), whatever the job's own verbosity. While a job runs,
`drop_info_lines` puts a pipe in front of file descriptor 2 and a thread
forwards every line except those that start with "INFO:" (Python
logging's default format, which the workers use). The job's own progress
lines and every warning and error pass through unchanged, but for Beam's
start-up notices (`console.BEAM_NOTICES`: each worker's "no worker folder").
"""

import contextlib
import os
import sys
import threading

from s2f_tf import console

INFO_PREFIX = b"INFO:"


def _keep(line):
  return not (line.startswith(INFO_PREFIX) or
              console.is_beam_notice(line.decode("utf-8", "replace")))


def _forward(read_fd, write_fd):
  with os.fdopen(read_fd, "rb", buffering=0) as source:
    pending = b""
    while True:
      chunk = source.read(65536)
      if not chunk:
        break
      pending += chunk
      *lines, pending = pending.split(b"\n")
      for line in lines:
        if _keep(line):
          os.write(write_fd, line + b"\n")
    if pending and _keep(pending):
      os.write(write_fd, pending)


@contextlib.contextmanager
def drop_info_lines(enabled=True):
  """Within the block, stderr lines starting with INFO: and Beam's start-up
  notices are dropped (this process's and its children's). `enabled=False`
  (a --verbosity that asks for INFO) leaves stderr alone."""
  if not enabled:
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  read_fd, write_fd = os.pipe()
  thread = threading.Thread(target=_forward, args=(read_fd, saved),
                            daemon=True)
  thread.start()
  os.dup2(write_fd, 2)
  os.close(write_fd)
  try:
    yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)  # the pipe's last writer here is gone: EOF follows
    # A worker that outlives the job keeps the pipe open; do not wait for
    # it past a few seconds (its lines then stop at the terminal).
    thread.join(timeout=5.0)
    if not thread.is_alive():
      os.close(saved)
