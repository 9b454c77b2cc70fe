"""Tests for the audio front end against an independent numpy STFT."""

import glob
import os
import wave

import numpy as np
import tensorflow as tf

from s2f_tf.audio import spectrogram
from tests import shared_data


def numpy_compressed_spectrogram(x):
  """Independent float64 reference: own framing, own window, numpy's FFT."""
  x = np.asarray(x, np.float64)
  n = np.arange(400)
  window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 400)  # periodic Hann
  frames = []
  start = 0
  while start + 400 <= len(x):
    frames.append(np.fft.rfft(x[start:start + 400] * window, n=512))
    start += 160
  s = np.array(frames)
  compress = lambda v: np.sign(v) * np.abs(v) ** 0.3
  return np.stack([compress(s.real), compress(s.imag)], axis=-1)


def relative_error(actual, expected):
  return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def real_or_synthetic_speech(seconds):
  """Concatenated real FSDD speech when available, else a voiced chirp."""
  files = sorted(glob.glob(os.path.join(shared_data.FSDD_DIR, "*_jackson_*")))
  if files:
    pieces = []
    for path in files[:20]:
      with wave.open(path) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
      pieces.append(np.repeat(pcm / 32768.0, 2))  # crude 8k -> 16k
    x = np.concatenate(pieces)
  else:
    t = np.arange(int(seconds * 16000)) / 16000.0
    x = 0.3 * np.sin(2 * np.pi * (120 + 40 * t) * t)
  reps = int(np.ceil(seconds * 16000 / len(x)))
  return np.tile(x, reps)[:int(seconds * 16000)].astype(np.float32)


class SpectrogramTest(tf.test.TestCase):

  def test_six_second_clip_matches_numpy_eagerly(self):
    x = real_or_synthetic_speech(6.0)
    actual = np.asarray(spectrogram.compressed_spectrogram(x))
    self.assertEqual(actual.shape, (598, 257, 2))
    expected = numpy_compressed_spectrogram(x)
    self.assertLess(relative_error(actual, expected), 1e-4)

  def test_matches_numpy_inside_dataset_map(self):
    x = real_or_synthetic_speech(6.0)
    ds = tf.data.Dataset.from_tensors(x).map(spectrogram.training_spectrogram)
    actual = next(iter(ds)).numpy()
    self.assertEqual(actual.shape, (598, 257, 2))
    self.assertLess(relative_error(actual, numpy_compressed_spectrogram(x)),
                    1e-4)

  def test_frame_count_formula(self):
    self.assertEqual(spectrogram.num_frames(96000), 598)  # 1 + 95600 // 160
    self.assertEqual(spectrogram.num_frames(48000), 298)

  def test_short_clip_is_repeated_not_padded(self):
    rng = np.random.RandomState(1)
    x = (0.1 * rng.randn(40000)).astype(np.float32)  # 2.5 s
    for fn in (lambda w: spectrogram.repeat_to_length(w, 96000),):
      eager = np.asarray(fn(x))
      mapped = next(iter(tf.data.Dataset.from_tensors(x).map(fn))).numpy()
      for out in (eager, mapped):
        self.assertEqual(out.shape, (96000,))
        np.testing.assert_array_equal(out[:40000], x)
        np.testing.assert_array_equal(out[40000:80000], x)
        np.testing.assert_array_equal(out[80000:], x[:16000])
    spec = next(iter(tf.data.Dataset.from_tensors(x).map(
        spectrogram.training_spectrogram))).numpy()
    expected = numpy_compressed_spectrogram(np.concatenate([x, x, x])[:96000])
    self.assertLess(relative_error(spec, expected), 1e-4)
    # A zero-padded tail would give all-zero frames at the end.
    self.assertGreater(np.abs(spec[-1]).min() + np.abs(spec[-1]).max(), 0.0)

  def test_long_clip_takes_the_start(self):
    x = real_or_synthetic_speech(8.0)
    out = np.asarray(spectrogram.repeat_to_length(x, 96000))
    np.testing.assert_array_equal(out, x[:96000])

  def test_power_law_hand_values(self):
    values = np.array([-8.0, 0.0, 1.0, 1000.0], np.float32)
    expected = [-(8.0 ** 0.3), 0.0, 1.0, 1000.0 ** 0.3]
    self.assertAllClose(spectrogram.power_law(values), expected, rtol=1e-6)

  def test_layer_any_length_and_batch(self):
    layer = spectrogram.Spectrogram()
    x = np.stack([real_or_synthetic_speech(1.7)] * 2)
    out = np.asarray(layer(x))
    frames = 1 + (x.shape[1] - 400) // 160
    self.assertEqual(out.shape, (2, frames, 257, 2))
    self.assertLess(relative_error(out[1], numpy_compressed_spectrogram(x[1])),
                    1e-4)
    self.assertEqual(layer.compute_output_shape((None, 96000)),
                     (None, 598, 257, 2))


if __name__ == "__main__":
  tf.test.main()
