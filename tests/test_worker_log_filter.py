"""Beam's local workers' INFO lines stay off the terminal; everything else reaches it."""

import os
import subprocess
import sys

import tensorflow as tf

from data_prep import worker_log_filter


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

  def test_a_verbose_run_keeps_them(self):
    text = self._stderr_of(False)
    self.assertIn("INFO:root:harness starting", text)


if __name__ == "__main__":
  tf.test.main()
