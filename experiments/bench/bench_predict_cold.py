"""Benchmark: `s2f predict` cold, one clip, a fresh process per run.

What a user waits for from typing the command to the face on disk: the
interpreter, TensorFlow's and Keras's imports, the shipped model's load, the
clip and the exit. Rows (each the median of --repeats fresh processes, in
one run, ratios to the baseline):
- `import tensorflow, keras`: the floor no s2f change can go under;
- baseline: `s2f predict` as before `console.long_lived` (garbage
  collection on while TensorFlow and the model load, nothing frozen);
- `s2f predict`: the command as it is (the installed console script);
- setup.py develop's script: the same command through the script that a
  legacy editable install wrote (`__requires__ = 's2f'`, which makes
  pkg_resources, once something imports it, resolve every requirement);
  pyproject.toml's build system has pip write the plain one instead.

  python experiments/bench/bench_predict_cold.py [--repeats 5] [--media F]
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
flags.DEFINE_integer("repeats", 5, "Fresh processes per row (median).")
flags.DEFINE_string("media", os.path.join(
    ROOT, "experiments", "demo_data", "grid_av", "lbax4n.mpg"),
                    "The clip to predict from.")
FLAGS = flags.FLAGS
# The command's body without `console.long_lived` (the baseline).
_BASELINE = """
import contextlib, sys
from s2f_tf import console
console.long_lived = contextlib.nullcontext
from s2f_tf.app import cli
sys.argv = ["s2f"] + sys.argv[1:]
cli.run()
"""
# What setuptools' `setup.py develop` wrote as the `s2f` script.
_LEGACY_SCRIPT = """
import re, sys
__requires__ = 's2f'
from importlib.metadata import distribution
def load_entry_point(spec, group, name):
    return next(e for e in distribution(spec).entry_points
                if e.group == group and e.name == name).load()
sys.exit(load_entry_point('s2f', 'console_scripts', 's2f')())
"""


def _seconds(command, repeats):
  """Median wall seconds of `command` (a list), each in a fresh process, or
  the last line of its stderr when it fails (printed in its row)."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=ROOT, check=False)
    if result.returncode:
      return (result.stderr.strip().splitlines() or ["failed"])[-1]
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main(argv):
  del argv
  script = shutil.which("s2f")
  if not script:
    raise app.UsageError("no `s2f` on PATH: pip install -e . first")
  if not os.path.isfile(FLAGS.media):
    raise app.UsageError(f"--media={FLAGS.media}: no such file")
  work = tempfile.mkdtemp()
  out = ["predict", "--audio", FLAGS.media, "--out",
         os.path.join(work, "face.png")]
  rows = [("import tensorflow, keras",
           [sys.executable, "-c", "import tensorflow, keras"]),
          ("baseline (gc on at load)",
           [sys.executable, "-c", _BASELINE] + out),
          ("s2f predict", [script] + out),
          ("setup.py develop's script",
           [sys.executable, "-c", _LEGACY_SCRIPT] + out)]
  print(f"s2f predict cold, one clip ({os.path.basename(FLAGS.media)}), "
        f"median of {FLAGS.repeats} fresh processes per row")
  seconds = {label: _seconds(command, FLAGS.repeats)
             for label, command in rows}
  baseline = seconds[rows[1][0]]
  print(f"{'row':<28}{'seconds':>9}{'vs baseline':>13}")
  for label, _ in rows:
    if isinstance(seconds[label], str):
      print(f"{label:<28} failed: {seconds[label]}")
    elif isinstance(baseline, str):
      print(f"{label:<28}{seconds[label]:>9.2f}")
    else:
      print(f"{label:<28}{seconds[label]:>9.2f}"
            f"{seconds[label] / baseline:>12.2f}x")
  shutil.rmtree(work)


if __name__ == "__main__":
  app.run(main)
