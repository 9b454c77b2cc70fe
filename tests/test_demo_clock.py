"""The demo's clock: what it says at the start about its own duration."""

import io
from unittest import mock

import tensorflow as tf

from experiments.app import demo_lib


class StageClockTest(tf.test.TestCase):

  def _start_line(self, mode, avx512):
    with mock.patch("sys.stdout", new_callable=io.StringIO) as out:
      demo_lib.StageClock(mode, avx512=avx512)
    return out.getvalue().strip()

  def test_states_the_expected_duration_at_the_start(self):
    # The real-pairs stages measured on the development machine: 1 + 240 +
    # 240 + 300 + 600 + 5 + 240 + 120 s = 29 min 6 s.
    self.assertStartsWith(self._start_line("real", True),
                          "demo: 8 stages, expected to take about 00:29:06")
    # Without AVX-512: 1746 s x 3.4 = 5936 s = 1 h 38 min 56 s (the issue
    # measured 1 h 40 min on such a CPU).
    line = self._start_line("real", False)
    self.assertStartsWith(line, "demo: 8 stages, expected to take about "
                          "01:38:56")
    self.assertIn("lacks AVX-512", line)

  def test_reads_the_cpu_flags(self):
    path = self.create_tempfile(content=(
        "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n")).full_path
    self.assertTrue(demo_lib.cpu_has_avx512(path))
    path = self.create_tempfile(content=(
        "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_vnni\n")).full_path
    self.assertFalse(demo_lib.cpu_has_avx512(path))  # avx512f is the base
    self.assertIsNone(demo_lib.cpu_has_avx512(path + ".missing"))


if __name__ == "__main__":
  tf.test.main()
