"""Complex power-law spectrogram of Speech2Face (Sec. 4, "Implementation details").

waveform (16 kHz mono, [-1, 1]) -> first 6 s, short clips repeated -> STFT
(periodic Hann 400, hop 160, FFT 512) -> real and imaginary parts, each
power-law compressed sgn(x)|x|^0.3 -> (time, 257, 2).

Written with `keras.ops` only, so the same function runs eagerly, inside
`tf.data.Dataset.map` (TensorFlow backend) and in a JAX or PyTorch model.
Framing is explicit (an index gather) rather than `keras.ops.stft`, because
the latter centres the 400-sample window inside a 512-sample frame, which
gives 597 frames for 6 s and shifts every frame by 56 samples.
"""

import keras
from keras import ops
import numpy as np

from s2f_tf.audio import audio_format

FRAME_LENGTH = 400  # 25 ms Hann window at 16 kHz, Sec. 4.
FRAME_STEP = 160  # 10 ms hop, Sec. 4.
FFT_LENGTH = 512  # Sec. 4.
NUM_FREQ_BINS = FFT_LENGTH // 2 + 1  # 257.
POWER_LAW_EXPONENT = 0.3  # sgn(S)|S|^0.3, Sec. 4.
# Periodic ("DFT-even") Hann, as tf.signal.hann_window and scipy's STFT use.
# The paper says only "Hann"; see WORKSPACE.md. Set False for the symmetric one.
PERIODIC_WINDOW = True


def num_samples(seconds, sample_rate=audio_format.SAMPLE_RATE):
  return int(round(seconds * sample_rate))


def num_frames(samples):
  """Frames the STFT gives for `samples` samples (598 for 96,000)."""
  return 1 + (samples - FRAME_LENGTH) // FRAME_STEP


def hann_window(length=FRAME_LENGTH, periodic=PERIODIC_WINDOW):
  """Hann window as a float32 numpy array."""
  denominator = length if periodic else length - 1
  n = np.arange(length, dtype=np.float64)
  return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / denominator)).astype(np.float32)


def repeat_to_length(waveform, length):
  """Repeats a clip until it has at least `length` samples, then cuts.

  Sec. 4: take the first 6 s; a shorter clip is repeated (not zero-padded).
  Works on a 1-D tensor of any (also unknown) length > 0.
  """
  waveform = ops.convert_to_tensor(waveform)
  current = ops.shape(waveform)[-1]
  repeats = (length + current - 1) // current
  tiled = ops.tile(waveform, [repeats])
  return tiled[:length]


def power_law(x, exponent=POWER_LAW_EXPONENT):
  """sgn(x)|x|^p, applied elementwise (Sec. 4)."""
  return ops.sign(x) * ops.power(ops.abs(x), exponent)


def complex_stft(waveform, periodic=PERIODIC_WINDOW):
  """Real and imaginary STFT parts, each (..., frames, 257), no end padding."""
  waveform = ops.convert_to_tensor(waveform, dtype="float32")
  length = ops.shape(waveform)[-1]
  frames = 1 + (length - FRAME_LENGTH) // FRAME_STEP
  starts = ops.arange(0, frames, dtype="int32") * FRAME_STEP
  index = ops.expand_dims(starts, 1) + ops.expand_dims(
      ops.arange(0, FRAME_LENGTH, dtype="int32"), 0)
  framed = ops.take(waveform, index, axis=-1)  # (..., frames, 400)
  framed = framed * ops.convert_to_tensor(hann_window(periodic=periodic))
  padding = [(0, 0)] * (len(framed.shape) - 1) + [
      (0, FFT_LENGTH - FRAME_LENGTH)]
  framed = ops.pad(framed, padding)
  return ops.rfft(framed, fft_length=FFT_LENGTH)


def compressed_spectrogram(waveform, exponent=POWER_LAW_EXPONENT,
                           periodic=PERIODIC_WINDOW):
  """The network input: (..., frames, 257, 2) = power-law [real, imag]."""
  real, imag = complex_stft(waveform, periodic=periodic)
  return ops.stack([power_law(real, exponent), power_law(imag, exponent)],
                   axis=-1)


def training_spectrogram(waveform, seconds=audio_format.CLIP_SECONDS):
  """First `seconds` of a clip (short clips repeated) as the network input."""
  return compressed_spectrogram(
      repeat_to_length(waveform, num_samples(seconds)))


@keras.saving.register_keras_serializable(package="s2f")
class Spectrogram(keras.layers.Layer):
  """Keras layer: (batch, samples) waveform -> (batch, frames, 257, 2).

  Any number of samples >= 400 is accepted, so the same layer serves the
  fixed 6 s training input and whole clips of any length at inference.
  """

  def __init__(self, exponent=POWER_LAW_EXPONENT, periodic=PERIODIC_WINDOW,
               **kwargs):
    super().__init__(**kwargs)
    self.exponent = exponent
    self.periodic = periodic

  def call(self, waveform):
    return compressed_spectrogram(waveform, self.exponent, self.periodic)

  def compute_output_shape(self, input_shape):
    samples = input_shape[-1]
    frames = None if samples is None else num_frames(samples)
    return tuple(input_shape[:-1]) + (frames, NUM_FREQ_BINS, 2)

  def get_config(self):
    config = super().get_config()
    config.update(exponent=self.exponent, periodic=self.periodic)
    return config
