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
    # The real-pairs stages measured on a CPU without AVX-512: 1 + 272 + 94
    # + 684 + 103 + 5 + 387 + 180 s = 1726 s = 28 min 46 s.
    line = self._start_line("real", False)
    self.assertStartsWith(line, "demo: 8 stages, expected to take about "
                          "00:28:46")
    self.assertIn("lacks AVX-512: the time measured on a CPU without it",
                  line)
    # With AVX-512: 1726 s / 3.4 = 507.6 s, shown in whole seconds: 8:27.
    line = self._start_line("real", True)
    self.assertStartsWith(line, "demo: 8 stages, expected to take about "
                          "00:08:27")
    self.assertIn("0.29x the time", line)
    # The full demo was timed with AVX-512: 3 + 45 + 25 + 40 + 150 + 3 + 25
    # + 40 s = 331 s; x 3.4 = 1125.4 s = 18 min 45 s without it.
    self.assertStartsWith(self._start_line("full", True),
                          "demo: 8 stages, expected to take about 00:05:31")
    self.assertStartsWith(self._start_line("full", False),
                          "demo: 8 stages, expected to take about 00:18:45")

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
