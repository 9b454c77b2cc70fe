"""Windowed encoding of long recordings equals the whole-clip encoder."""

import glob
import os

import keras
import numpy as np
import tensorflow as tf

from s2f_tf import windowed_encoder
from s2f_tf import media
from s2f_tf.audio import audio_format
from s2f_tf.audio import spectrogram
from s2f_tf.models import voice_encoder
from tests import shared_data


def long_speech(seconds):
  """Real FSDD digits of one speaker, concatenated to `seconds`."""
  recordings = sorted(glob.glob(os.path.join(
      shared_data.require(shared_data.FSDD_DIR), "*_jackson_*.wav")))
  pieces, total = [], 0
  for path in recordings:
    pieces.append(media.load_audio(path))
    total += len(pieces[-1])
    if total >= seconds * audio_format.SAMPLE_RATE:
      break
  return np.concatenate(pieces)[:int(seconds * audio_format.SAMPLE_RATE)]


def encoder_with_trained_bn():
  """Tiny encoder whose BN layers hold non-trivial moving statistics."""
  keras.utils.set_random_seed(1)
  encoder = voice_encoder.build_voice_encoder(voice_encoder.TINY_SPEC)
  rng = np.random.RandomState(0)
  for layer in encoder.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      gamma, beta, mean, variance = layer.get_weights()
      layer.set_weights([1 + 0.2 * rng.randn(*gamma.shape),
                         0.1 * rng.randn(*beta.shape),
                         0.1 * rng.randn(*mean.shape),
                         rng.uniform(0.5, 2.0, variance.shape)])
  return encoder


class WindowedEncoderTest(tf.test.TestCase):

  def test_geometry_of_table1(self):
    # Hand derivation: 4-frame kernels add 3 x the current stride to the
    # field; pools (2) add 1 x stride and double it; conv8/conv9 stride 2.
    # conv1-3: 1+9=10; pool1: 11 (x2); conv4: 17; pool2: 19 (x4); conv5: 31;
    # pool3: 35 (x8); conv6: 59; pool4: 67 (x16); conv7: 115; conv8: 163
    # (x32); conv9: 259 (x64).
    self.assertEqual(windowed_encoder.time_geometry(), (64, 259))
    trunk, _ = windowed_encoder.split_at_time_average(
        voice_encoder.build_voice_encoder(voice_encoder.TINY_SPEC))
    for frames in (64, 598, 1000, 1283):
      out = trunk(np.zeros((1, frames, 257, 2), np.float32))
      self.assertEqual(out.shape[1], windowed_encoder.trunk_frames(frames),
                       frames)

  def test_equals_whole_clip_on_real_speech(self):
    encoder = encoder_with_trained_bn()
    front_end = spectrogram.Spectrogram()
    for seconds, core in ((25.3, 128), (25.3, 640), (9.0, 640), (2.0, 64)):
      waveform = long_speech(seconds)
      whole = np.asarray(encoder(front_end(waveform[None]),
                                 training=False))[0]
      windowed = windowed_encoder.WindowedEncoder(
          encoder, voice_encoder.TINY_SPEC, core_frames=core)
      count = len(windowed.windows(spectrogram.num_frames(len(waveform))))
      if seconds > 20:
        self.assertGreater(count, 2)
      self.assertAllClose(windowed(waveform), whole, rtol=1e-5,
                          atol=1e-5 * np.abs(whole).max(),
                          msg=f"{seconds} s, core {core}")

  def test_core_must_align_with_the_stride(self):
    with self.assertRaisesRegex(ValueError, "multiple"):
      windowed_encoder.WindowedEncoder(
          voice_encoder.build_voice_encoder(voice_encoder.TINY_SPEC),
          voice_encoder.TINY_SPEC, core_frames=100)


if __name__ == "__main__":
  tf.test.main()
