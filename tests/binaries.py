"""Runs the project's real binaries in a subprocess, as a user would."""

import os
import subprocess
import sys

from tests import shared_data


def _env():
  """The user's environment: s2f's binaries quiet TensorFlow themselves."""
  env = dict(os.environ, PYTHONPATH=shared_data.REPO_ROOT)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)
  return env


def run(args, timeout=900):
  """Runs `python *args` from the repository; returns the CompletedProcess."""
  return subprocess.run([sys.executable, *args], env=_env(),
                        capture_output=True, text=True, timeout=timeout,
                        check=False)


def start(args):
  """Starts `python *args` without waiting; returns the Popen (text pipes)."""
  return subprocess.Popen([sys.executable, *args], env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def run_ok(args, timeout=900):
  """`run`, raising with the binary's stderr when it fails; returns stderr."""
  result = run(args, timeout)
  if result.returncode != 0:
    raise AssertionError(f"{args[0]} failed:\n{result.stderr[-4000:]}")
  return result.stderr
