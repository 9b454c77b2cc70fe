"""Measurement shared by the benchmarks: timed calls and one row per process.

`seconds_per_call` is every benchmark's timing loop (warm-up calls, then the
mean or the best of the timed ones). `run_row` measures one row of a table
in a fresh Python process, so rows never share memory, caches or a
TensorFlow runtime (full-size rows can need most of the machine's RAM each),
and a row that fails or is killed is reported as such without losing the
others.
"""

import json
import subprocess
import sys
import time

RESULT_PREFIX = "BENCH_ROW "


def seconds_per_call(fn, repeats, warmup=1, best=False):
  """Seconds per call of `fn`: the mean (or the best) of `repeats` timed calls.

  Args:
    fn: the call to time; it must block until its work is done (e.g. end in
      `.numpy()` or `float(...)`).
    repeats: timed calls (>= 1).
    warmup: untimed calls first (tracing, allocation, autotuning).
    best: the fastest call instead of the mean (for short, noisy calls).
  """
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return min(times) if best else sum(times) / len(times)


def report_row(result):
  """Prints a child's result (a JSON-able dict) for `run_row` to read."""
  print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_row(script, args, env=None, timeout=None):
  """Runs `python script *args` and returns the dict it passed to report_row.

  Returns {"error": "..."} with the last line of its stderr (or the signal
  that killed it) when the child fails, so one row's failure is printed in
  the table instead of ending the benchmark.
  """
  try:
    result = subprocess.run([sys.executable, script, *args], env=env,
                            capture_output=True, text=True, timeout=timeout,
                            check=False)
  except subprocess.TimeoutExpired:
    return {"error": f"timed out after {timeout} s"}
  for line in reversed(result.stdout.splitlines()):
    if line.startswith(RESULT_PREFIX):
      return json.loads(line[len(RESULT_PREFIX):])
  if result.returncode < 0:
    return {"error": f"killed by signal {-result.returncode} "
                     "(out of memory?)"}
  lines = result.stderr.strip().splitlines() or ["no output"]
  return {"error": f"exit {result.returncode}: {lines[-1][:200]}"}
