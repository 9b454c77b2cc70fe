"""The voice encoder on recordings of any length, in bounded memory.

Row 14 of Table 1 averages the conv trunk's output over all time frames, so
a whole recording costs memory in proportion to its length (measured with
the Table 1 encoder: 9.8 GB at 60 s, 24 GB at 180 s). `WindowedEncoder` runs
the trunk on overlapping windows of the spectrogram, keeps from each window
only its core (the frames the neighbouring windows do not own), sums those
time steps, and applies row 14's mean and the FC head once.

It is exact, not an approximation: windows start on multiples of the
trunk's time stride (64 input frames for Table 1), so their pooled frames
line up with the whole clip's, and each core is flanked by a margin at least
as wide as the trunk's receptive field (259 frames for Table 1), so no core
frame sees a window edge. The result equals the whole-clip feature up to
float32 summation order (tests: 1e-5 relative). Peak memory is that of one
window (`core_frames` + 2 x margin frames, 12.8 s by default).
"""

import math

import keras
import numpy as np

from s2f_tf.audio import spectrogram
from s2f_tf.models import voice_encoder

# Core frames per window (6.4 s: about the training segment); a multiple of
# the time stride.
CORE_FRAMES = 640


def time_geometry(spec=voice_encoder.VOICE_ENCODER_SPEC):
  """(time stride, receptive field) of the trunk in input frames."""
  stride, field = 1, 1
  for row in spec:
    if row.kind in ("conv_relu_bn", "conv", "pool_time"):
      field += (row.kernel[0] - 1) * stride
      stride *= row.strides[0]
    elif row.kind == "avgpool_time_relu_bn":
      break
  return stride, field


def trunk_frames(frames, spec=voice_encoder.VOICE_ENCODER_SPEC):
  """Trunk output time steps for `frames` input frames ('same' convs,
  'valid' pools, as `build_voice_encoder`)."""
  for row in spec:
    if row.kind in ("conv_relu_bn", "conv"):
      frames = -(-frames // row.strides[0])
    elif row.kind == "pool_time":
      frames //= row.strides[0]
    elif row.kind == "avgpool_time_relu_bn":
      break
  return frames


def split_at_time_average(encoder):
  """(trunk, head): input -> row-14 input (b, t, f, c); mean (b, f, c) -> out."""
  layer_names = [layer.name for layer in encoder.layers]
  pool = next(layer for layer in encoder.layers
              if isinstance(layer, voice_encoder.TimeAveragePool))
  trunk = keras.Model(encoder.input, pool.input, name="trunk")
  head_input = keras.Input(tuple(pool.input.shape[2:]), name="time_mean")
  x = head_input
  for name in layer_names[layer_names.index(pool.name) + 1:]:
    x = encoder.get_layer(name)(x)
  return trunk, keras.Model(head_input, x, name="head")


class WindowedEncoder:
  """16 kHz waveform of any length -> the encoder's feature, window by window."""

  def __init__(self, encoder, spec=voice_encoder.VOICE_ENCODER_SPEC,
               core_frames=CORE_FRAMES):
    self.stride, field = time_geometry(spec)
    if core_frames % self.stride:
      raise ValueError(f"core_frames={core_frames} must be a multiple of the "
                       f"trunk's time stride {self.stride}")
    self.spec = spec
    self.core_frames = core_frames
    self.margin_frames = math.ceil(field / self.stride) * self.stride
    self.trunk, self.head = split_at_time_average(encoder)
    self.front_end = spectrogram.Spectrogram(name="spectrogram")

  def windows(self, frames):
    """[(first input frame, end input frame, core start, core end)] with the
    core given in trunk output steps of the whole clip."""
    steps = trunk_frames(frames, self.spec)
    core_steps = self.core_frames // self.stride
    out = []
    for core_start in range(0, steps, core_steps):
      first = max(0, core_start * self.stride - self.margin_frames)
      end = min(frames, (core_start + core_steps) * self.stride
                + self.margin_frames)
      out.append((first, end, core_start, min(steps, core_start + core_steps)))
    return out

  def __call__(self, waveform):
    """(samples,) float32 waveform -> (feature_dim,) float32 feature."""
    waveform = np.asarray(waveform, np.float32)
    frames = spectrogram.num_frames(len(waveform))
    total, steps = None, 0
    for first, end, core_start, core_end in self.windows(frames):
      samples = waveform[first * spectrogram.FRAME_STEP:
                         (end - 1) * spectrogram.FRAME_STEP
                         + spectrogram.FRAME_LENGTH]
      out = self.trunk(self.front_end(samples[None]), training=False)
      offset = first // self.stride
      core = np.asarray(out)[0, core_start - offset:core_end - offset]
      part = core.astype(np.float64).sum(axis=0)
      total = part if total is None else total + part
      steps += core_end - core_start
    mean = (total / steps).astype(np.float32)
    return np.asarray(self.head(mean[None], training=False))[0]
