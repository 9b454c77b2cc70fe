"""Local stand-ins for a cluster: TF_CONFIG worker processes on 127.0.0.1.

Starts N processes of the training binary as one `--strategy=multi_worker`
cluster on free local ports, each in its own process group so that a
benchmark or test can stop all it started. Used by `bench_scaling.py` and
the multi-worker tests.
"""

import json
import os
import signal
import socket
import subprocess
import sys


def free_ports(count):
  """`count` TCP ports on 127.0.0.1 that were free a moment ago."""
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def start_workers(binary, args, count=2, env=None, stdout=subprocess.DEVNULL):
  """`count` worker processes of `binary` forming one multi-worker cluster."""
  cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(count)]}
  processes = []
  for index in range(count):
    worker_env = dict(env or os.environ, TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
    processes.append(subprocess.Popen(
        [sys.executable, binary, *args, "--strategy", "multi_worker"],
        env=worker_env, stdout=stdout, stderr=subprocess.PIPE, text=True,
        start_new_session=True))
  return processes


def stop(processes):
  """Kills every process still running (with its children) and reaps it."""
  for process in processes:
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait(processes, timeout):
  """Waits for every worker, then stops any left; returns their stderr."""
  try:
    return [p.communicate(timeout=timeout)[1] for p in processes]
  finally:
    stop(processes)
