"""Benchmark: peak memory of `s2f predict` against recording length.

Each row runs in a fresh process (its peak RSS is the row's), with the
full-size Table 1 encoder (random weights: memory does not depend on them)
on a WAV of the given length. 'windowed' is what `s2f predict` does
(`SpeechToFace.predict_file`, window by window); 'whole clip' is one pass
over the whole spectrogram (the SavedModel's `serve`), shown up to where it
fits in memory. Ratios are to the windowed 10 s row of the same run.

  python experiments/bench/bench_predict_memory.py [--seconds 10,60,600]
      [--whole_seconds 10,60]
"""

import resource
import subprocess
import sys
import time
import wave

from absl import app
from absl import flags
import numpy as np

flags.DEFINE_string("seconds", "10,60,600", "Lengths for s2f predict.")
flags.DEFINE_string("whole_seconds", "10,60",
                    "Lengths for the whole-clip pass (60 s needs ~10 GB).")
flags.DEFINE_string("child", "", "Internal: 'mode:seconds' to measure.")
FLAGS = flags.FLAGS


def _write_wav(path, seconds, rate=16000):
  t = np.arange(int(seconds * rate)) / rate
  rng = np.random.RandomState(0)
  signal = 0.3 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * t))
  signal += 0.02 * rng.randn(len(t))
  with wave.open(path, "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(rate)
    f.writeframes((np.clip(signal, -1, 1) * 32767).astype(np.int16).tobytes())


def _child(mode, seconds):
  """Measures one row in this process; prints 'peak_mb seconds'."""
  import tempfile  # pylint: disable=g-import-not-at-top
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  from s2f_tf import media  # pylint: disable=g-import-not-at-top
  from s2f_tf.models import voice_encoder  # pylint: disable=g-import-not-at-top
  path = tempfile.mktemp(suffix=".wav")
  _write_wav(path, seconds)
  model = speech_to_face.SpeechToFace(voice_encoder.build_voice_encoder())
  start = time.perf_counter()
  if mode == "windowed":
    feature, _ = model.predict_file(path)
  else:
    feature = np.asarray(model(media.load_speech(path)[None])["feature"])[0]
  elapsed = time.perf_counter() - start
  assert feature.shape == (voice_encoder.FEATURE_DIM,)
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  print(f"{peak_mb:.0f} {elapsed:.1f}")


def _measure(mode, seconds):
  result = subprocess.run(
      [sys.executable, __file__, f"--child={mode}:{seconds}"],
      capture_output=True, text=True, check=False)
  if result.returncode != 0:
    return None, None
  peak, elapsed = result.stdout.split()[-2:]
  return float(peak), float(elapsed)


def main(argv):
  del argv
  if FLAGS.child:
    mode, seconds = FLAGS.child.split(":")
    _child(mode, float(seconds))
    return
  rows = [("windowed (s2f predict)", float(s))
          for s in FLAGS.seconds.split(",")]
  rows += [("whole clip", float(s)) for s in FLAGS.whole_seconds.split(",")]
  print("Peak memory of predict, Table 1 encoder, one process per row")
  print(f"{'mode':<24}{'seconds':>8}{'peak MB':>10}{'wall s':>9}"
        f"{'vs windowed 10 s':>18}")
  baseline = None
  for label, seconds in rows:
    peak, elapsed = _measure(label.split()[0], seconds)
    if peak is None:
      print(f"{label:<24}{seconds:>8.0f}{'failed':>10}")
      continue
    if baseline is None:
      baseline = peak
    print(f"{label:<24}{seconds:>8.0f}{peak:>10.0f}{elapsed:>9.1f}"
          f"{peak / baseline:>17.2f}x")


if __name__ == "__main__":
  app.run(main)
