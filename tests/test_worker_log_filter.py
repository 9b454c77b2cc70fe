"""Beam's local workers' INFO lines stay off the terminal; everything else reaches it."""

import os
import subprocess
import sys

import tensorflow as tf

from data_prep import worker_log_filter
from tests import binaries


class DropInfoLinesTest(tf.test.TestCase):

  def _stderr_of(self, enabled):
    """What reaches file descriptor 2 while a child process and this one
    write there inside drop_info_lines."""
    path = self.create_tempfile().full_path
    saved = os.dup(2)
    with open(path, "wb") as sink:
      os.dup2(sink.fileno(), 2)
    try:
      with worker_log_filter.drop_info_lines(enabled):
        os.write(2, b"clips 3/6 (50.0%) 1.00/s ETA 00:00:03\n")
        subprocess.run([sys.executable, "-c", (
            "import logging, sys\n"
            "logging.basicConfig(level=logging.INFO)\n"
            "logging.info('harness starting')\n"
            "logging.warning('a real warning')\n"
            "logging.warning('apitools not found, and bigquery client "
            "libraries are not available despite the import not raising "
            "an ImportError.')\n"
            "logging.warning('No semi_persistent_directory found: User "
            "registered objects may not be effective')\n"
            "sys.stderr.write('INFO: a last line without a newline')\n")],
                       check=True)
    finally:
      os.dup2(saved, 2)
      os.close(saved)
    with open(path) as f:
      return f.read()

  def test_info_lines_are_dropped_and_the_rest_passes(self):
    text = self._stderr_of(True)
    self.assertNotIn("harness starting", text)
    self.assertNotIn("without a newline", text)
    self.assertIn("WARNING:root:a real warning\n", text)
    self.assertIn("clips 3/6 (50.0%)", text)
    self.assertNotIn("apitools", text)
    self.assertNotIn("semi_persistent", text)

  def test_a_verbose_run_keeps_them(self):
    text = self._stderr_of(False)
    self.assertIn("INFO:root:harness starting", text)
    self.assertIn("semi_persistent", text)


class BeamImportTest(tf.test.TestCase):

  def _import_stderr(self, argv):
    """stderr of a process that imports s2f's data jobs (which import
    apache_beam) with `argv` as its command line."""
    result = binaries.run(["-c", (
        "import sys\n"
        f"sys.argv = {['job', *argv]!r}\n"
        "from data_prep import prepare_shards_lib\n"
        "import logging\n"
        "logging.warning('a real warning')\n")], 120)
    self.assertEqual(result.returncode, 0, result.stderr)
    return result.stderr

  def test_import_notice_is_dropped_and_warnings_pass(self):
    text = self._import_stderr([])
    self.assertNotIn("apitools", text)
    self.assertIn("a real warning", text)

  def test_verbosity_shows_it(self):
    self.assertIn("apitools", self._import_stderr(["--verbosity=0"]))


if __name__ == "__main__":
  tf.test.main()
