"""Every installed console script: --help lists its own flags; bad input is one line."""

import gc
import os
import re
import shutil
import subprocess
import sys

from absl.testing import parameterized
import tensorflow as tf

from s2f_tf import console
from tests import shared_data

# (command, flags its --help must list, flags it must not list)
HELP_CASES = (
    ("s2f predict", ("--audio", "--audio_dir", "--checkpoint", "--out"),
     ("--quick", "--tflite")),
    ("s2f export", ("--checkpoint", "--out_dir", "--tflite"), ("--audio",)),
    ("s2f demo", ("--out_dir", "--quick", "--vgg_face_weights",
                  "--pairs_dir"), ("--checkpoint", "--port")),
    ("s2f serve", ("--checkpoint", "--port", "--host", "--queue_size"),
     ("--quick", "--audio")),
    ("s2f-train", ("--workdir", "--config", "--train_pattern",
                   "--learning_rate", "--strategy"), ("--image_dir",)),
    ("s2f-train-face-decoder", ("--workdir", "--data_dir", "--train_steps"),
     ("--lambda2",)),
    ("s2f-evaluate", ("--workdir", "--test_pattern", "--out_dir"),
     ("--train_pattern",)),
    ("s2f-prepare-shards", ("--output_dir", "--video_dir", "--avspeech_csv",
                            "--runner"), ("--workdir",)),
    ("s2f-prepare-decoder-data", ("--image_dir", "--output_dir", "--flips",
                                  "--frame", "--background"),
     ("--video_dir",)),
    ("s2f-check-vgg-face", ("--weights", "--faces_dir"), ("--workdir",)),
)


# (name, module:function) of every console script setup.py installs.
with open(os.path.join(shared_data.REPO_ROOT, "setup.py")) as _f:
  CONSOLE_SCRIPTS = re.findall(r'"(s2f[\w-]*) = ([\w.]+:\w+)"', _f.read())


def _run(command_line, cwd):
  words = command_line.split()
  executable = shutil.which(words[0])
  if executable is None:
    raise AssertionError(f"{words[0]} is not installed: run `pip install -e .`"
                         " (README) first")
  env = dict(os.environ)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the binaries quiet TF themselves
  return subprocess.run([executable, *words[1:]], capture_output=True,
                        text=True, timeout=300, cwd=cwd, env=env, check=False)


class HelpTest(parameterized.TestCase):

  @parameterized.parameters(*HELP_CASES)
  def test_help_lists_own_flags_and_exits_zero(self, command, present, absent):
    result = _run(command + " --help", self.create_tempdir().full_path)
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    for flag in present:
      self.assertIn(f"  {flag}:", result.stdout, f"{command} --help")
    for flag in absent:
      self.assertNotIn(f"  {flag}:", result.stdout, f"{command} --help")
    self.assertIn("(default:", result.stdout)
    self.assertNotIn("Traceback", result.stderr)

  def test_required_flags_say_so(self):
    result = _run("s2f-train --help", self.create_tempdir().full_path)
    lines = result.stdout.splitlines()
    index = next(i for i, l in enumerate(lines)
                 if l.startswith("  --workdir:"))
    self.assertEqual(lines[index + 1].strip(), "(required)")

  def test_config_override_flags_show_their_help_and_default(self):
    result = _run("s2f-train --help", self.create_tempdir().full_path)
    line = next(l for l in result.stdout.splitlines()
                if l.startswith("  --adam_epsilon:"))
    self.assertIn("Sec. 4.", line)
    self.assertIn("else 0.0001", line)


class OneLineErrorTest(parameterized.TestCase):

  def _assert_one_line_error(self, result, *needles):
    self.assertNotEqual(result.returncode, 0)
    self.assertNotIn("Traceback", result.stderr)
    lines = [l for l in result.stderr.splitlines()
             if l.strip() and "apitools" not in l]
    self.assertLen(lines, 1, result.stderr)
    self.assertTrue(lines[0].startswith("error: "), lines[0])
    for needle in needles:
      self.assertIn(needle, lines[0])

  def test_missing_checkpoint(self):
    clip = shared_data.require(os.path.join(shared_data.GRID_DIR,
                                            "bbaf2n.mpg"))
    cwd = self.create_tempdir().full_path
    # Without --checkpoint, predict uses the shipped model
    # (test_shipped_model); a named folder that is not there is the error.
    self._assert_one_line_error(
        _run(f"s2f predict --audio {clip} --checkpoint {cwd}/no_run", cwd),
        "--checkpoint", "no_run")

  def test_missing_weights_file(self):
    cwd = self.create_tempdir().full_path
    self._assert_one_line_error(
        _run(f"s2f-check-vgg-face --weights {cwd}/vgg_face.mat", cwd),
        "vgg_face.mat", "does not download")

  def test_bad_flag_value_is_named_before_any_work(self):
    cwd = self.create_tempdir().full_path
    self._assert_one_line_error(
        _run(f"s2f-train --workdir {cwd}/run --train_pattern {cwd}/x "
             "--strategy mirorred --allow_random_heads", cwd),
        "--strategy", "mirrored")
    self.assertFalse(os.path.exists(os.path.join(cwd, "run")))

  def test_unknown_flag_and_command_name_the_nearest(self):
    cwd = self.create_tempdir().full_path
    self._assert_one_line_error(_run("s2f predict --checkpiont=x", cwd),
                                "--checkpiont", "did you mean --checkpoint")
    result = _run("s2f predit --audio x", cwd)
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr.strip().splitlines(), [
        "error: unknown command 'predit' (did you mean predict?); choose one "
        "of predict, export, demo, serve (s2f --help)"])
    self._assert_one_line_error(
        _run(f"s2f-prepare-shards --output_dir {cwd}/o --vidoe_dir {cwd}",
             cwd), "did you mean --video_dir")

  @parameterized.parameters(*CONSOLE_SCRIPTS)
  def test_help_imports_no_tensorflow_keras_or_beam(self, name, target):
    # --help answers in a fraction of a second when it loads none of them
    # (each costs seconds: they made `s2f-train --help` take 5 s).
    module, function = target.split(":")
    probe = (f"import sys; sys.argv = [{name!r}, '--help']\n"
             f"import {module} as m\n"
             f"try:\n  m.{function}()\nexcept SystemExit:\n  pass\n"
             "print('HEAVY', sorted(k for k in ('tensorflow', 'keras', "
             "'apache_beam') if k in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=120,
                            cwd=shared_data.REPO_ROOT, check=False)
    self.assertGreater(len(result.stdout.splitlines()), 5,  # its help
                       result.stderr[-2000:])
    self.assertIn("HEAVY []", result.stdout, name)

  def test_every_console_script_is_probed(self):
    self.assertLen(CONSOLE_SCRIPTS, 7)
    self.assertIn(("s2f", "s2f_tf.app.cli:run"), CONSOLE_SCRIPTS)

  def test_missing_video_dir(self):
    cwd = self.create_tempdir().full_path
    self._assert_one_line_error(
        _run(f"s2f-prepare-shards --output_dir {cwd}/out "
             f"--video_dir {cwd}/no_videos", cwd), "--video_dir", "no_videos")
    self.assertFalse(os.path.exists(os.path.join(cwd, "out")))


class ColdStartTest(parameterized.TestCase):
  """What `s2f predict` pays before and after its one clip
  (experiments/bench/bench_predict_cold.py measures it)."""

  @parameterized.parameters(*CONSOLE_SCRIPTS)
  def test_installed_script_resolves_no_requirements(self, name, target):
    # setup.py develop's scripts set `__requires__`, so pkg_resources, once
    # anything imports it, checked every requirement (~1 s a start);
    # pyproject.toml's build system has pip write plain ones.
    del target
    script = shutil.which(name)
    if script is None:
      self.skipTest(f"{name} is not installed: run `pip install -e .`")
    with open(script, encoding="utf-8", errors="replace") as f:
      self.assertNotIn("__requires__", f.read(), script)

  def test_long_lived_freezes_what_it_made_and_restores_gc(self):
    gc.unfreeze()
    self.addCleanup(gc.enable)
    self.addCleanup(gc.unfreeze)
    with console.long_lived():
      self.assertFalse(gc.isenabled())
      made = [[i] for i in range(5000)]  # 5,001 tracked containers
    self.assertTrue(gc.isenabled())
    self.assertGreaterEqual(gc.get_freeze_count(), len(made) + 1)
    gc.disable()  # A caller's choice survives it, an error included.
    with self.assertRaises(KeyError):
      with console.long_lived():
        raise KeyError("x")
    self.assertFalse(gc.isenabled())

  def test_predict_freezes_tensorflow_and_the_model(self):
    clip = os.path.join(shared_data.REPO_ROOT, "experiments", "demo_data",
                        "grid_av", "lbax4n.mpg")
    out = os.path.join(self.create_tempdir().full_path, "face.png")
    probe = ("import gc, sys\n"
             f"sys.argv = ['s2f', 'predict', '--audio', {clip!r}, "
             f"'--out', {out!r}]\n"
             "from s2f_tf.app import cli\n"
             "try:\n  cli.run()\nexcept SystemExit as e:\n"
             "  print('EXIT', e.code, 'FROZEN', gc.get_freeze_count())")
    result = subprocess.run([sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=300,
                            cwd=shared_data.REPO_ROOT, check=False)
    words = result.stdout.split()
    self.assertIn("FROZEN", words, result.stderr[-2000:])
    self.assertEqual(words[words.index("EXIT") + 1], "0")
    # TensorFlow's and Keras's imports alone leave ~600k tracked objects.
    self.assertGreater(int(words[words.index("FROZEN") + 1]), 200_000)
    self.assertTrue(os.path.isfile(out))


if __name__ == "__main__":
  tf.test.main()
