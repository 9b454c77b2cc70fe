"""Speech2Face voice encoder (Table 1): complex spectrogram -> 4096-D fc7 estimate.

The architecture is the table `VOICE_ENCODER_SPEC` below, one row per row of
the paper's Table 1; `build_voice_encoder` turns it into a Keras model that
accepts any number of time frames (row 14 averages over all of them).
"""

import collections

import keras
from keras import layers
from keras import ops

from s2f_tf.audio import spectrogram
from tfrecords_schema import face_teacher

FEATURE_DIM = face_teacher.FC7_DIM  # Table 1's output: VGG-Face fc7.


class Row(collections.namedtuple("Row", "name kind filters kernel strides")):
  """One row of Table 1.

  kind: 'conv_relu_bn' (conv, ReLU, BN), 'conv' (no activation),
  'pool_time' (max-pool along time), 'avgpool_time_relu_bn' (mean over all
  time frames, ReLU, BN), 'fc_relu', 'fc'.
  """


# Table 1 of the paper (Sec. 3.1). Kernels and strides are (time, frequency).
VOICE_ENCODER_SPEC = (
    Row("conv1", "conv_relu_bn", 64, (4, 4), (1, 1)),
    Row("conv2", "conv_relu_bn", 64, (4, 4), (1, 1)),
    Row("conv3", "conv_relu_bn", 128, (4, 4), (1, 1)),
    Row("pool1", "pool_time", None, (2, 1), (2, 1)),
    Row("conv4", "conv_relu_bn", 128, (4, 4), (1, 1)),
    Row("pool2", "pool_time", None, (2, 1), (2, 1)),
    Row("conv5", "conv_relu_bn", 128, (4, 4), (1, 1)),
    Row("pool3", "pool_time", None, (2, 1), (2, 1)),
    Row("conv6", "conv_relu_bn", 256, (4, 4), (1, 1)),
    Row("pool4", "pool_time", None, (2, 1), (2, 1)),
    Row("conv7", "conv_relu_bn", 512, (4, 4), (1, 1)),
    Row("conv8", "conv_relu_bn", 512, (4, 4), (2, 2)),
    Row("conv9", "conv", 512, (4, 4), (2, 2)),
    Row("avgpool", "avgpool_time_relu_bn", None, None, None),
    Row("fc1", "fc_relu", FEATURE_DIM, None, None),
    Row("fc2", "fc", FEATURE_DIM, None, None),
)


@keras.saving.register_keras_serializable(package="s2f")
class TimeAveragePool(layers.Layer):
  """Row 14 of Table 1: mean over every time frame, (b, t, f, c) -> (b, f, c)."""

  def call(self, x):
    return ops.mean(x, axis=1)

  def compute_output_shape(self, input_shape):
    return (input_shape[0],) + tuple(input_shape[2:])

# A narrow twin of Table 1 (same rows and strides, 1/16 of the channels, small
# FCs) for CPU tests and the quick demo; never for results.
TINY_SPEC = tuple(
    row._replace(filters=max(4, row.filters // 16)) if row.kind.startswith(
        "conv") else (row._replace(filters=64) if row.kind == "fc_relu"
                      else row)
    for row in VOICE_ENCODER_SPEC)

SPECS = {"table1": VOICE_ENCODER_SPEC, "tiny": TINY_SPEC}
# Every voice encoder s2f builds: the Table 1 variants above, and `ge2e`, the
# pretrained GE2E backbone with a trained head (`ge2e_encoder`).
GE2E = "ge2e"
ENCODERS = tuple(SPECS) + (GE2E,)


def takes_waveform(encoder):
  """True when the encoder `encoder` (a name of ENCODERS) reads the 16 kHz
  waveform itself; Table 1 reads the complex spectrogram."""
  if encoder not in ENCODERS:
    raise ValueError(f"--encoder={encoder!r}: choose one of "
                     f"{', '.join(ENCODERS)}")
  return encoder == GE2E


def build(encoder, feature_dim, use_batch_norm=True,
          synchronized_batch_norm=False, zero_init_output=False,
          head_hidden=None, finetune_backbone=False):
  """The voice encoder called `encoder` (see ENCODERS) for a teacher of
  `feature_dim`: Table 1 (or its tiny twin) on spectrograms, or GE2E + head
  on waveforms."""
  if takes_waveform(encoder):
    from s2f_tf.models import ge2e_encoder  # pylint: disable=g-import-not-at-top
    return ge2e_encoder.build_ge2e_encoder(
        feature_dim, ge2e_encoder.HEAD_HIDDEN if head_hidden is None else
        head_hidden, finetune_backbone, zero_init_output)
  return build_voice_encoder(
      SPECS[encoder], use_batch_norm=use_batch_norm,
      synchronized_batch_norm=synchronized_batch_norm,
      feature_dim=feature_dim, zero_init_output=zero_init_output)


def forward_flops(spec=VOICE_ENCODER_SPEC, frames=598,
                  num_freq_bins=spectrogram.NUM_FREQ_BINS):
  """Multiply-add FLOPs (2 per MAC) of one forward pass on a frames x bins input.

  Counts convolutions and FC layers, which are all but ~0.1 % of the work.
  """
  time, freq, channels, flops = frames, num_freq_bins, 2, 0
  for row in spec:
    if row.kind in ("conv_relu_bn", "conv"):
      time = -(-time // row.strides[0])  # "same": ceil
      freq = -(-freq // row.strides[1])
      kt, kf = row.kernel
      flops += 2 * time * freq * kt * kf * channels * row.filters
      channels = row.filters
    elif row.kind == "pool_time":
      time //= row.strides[0]  # "valid"
    elif row.kind == "avgpool_time_relu_bn":
      time, channels = 1, freq * channels
    else:
      flops += 2 * channels * row.filters
      channels = row.filters
  return flops


def with_output_dim(spec, feature_dim):
  """`spec` with its last layer sized for a teacher's feature (Table 1 ends in
  VGG-Face fc7's 4096; dlib128's descriptor needs 128)."""
  return tuple(spec[:-1]) + (spec[-1]._replace(filters=feature_dim),)


def build_voice_encoder(spec=VOICE_ENCODER_SPEC,
                        num_freq_bins=spectrogram.NUM_FREQ_BINS,
                        use_batch_norm=True, synchronized_batch_norm=False,
                        name="voice_encoder", feature_dim=None,
                        zero_init_output=False):
  """Builds the voice encoder as a Keras functional model.

  Args:
    spec: architecture rows (Table 1 by default; tests pass smaller ones).
    num_freq_bins: frequency bins of the input spectrogram (257).
    use_batch_norm: False removes every BN layer (Fig. 9 ablation).
    synchronized_batch_norm: BN statistics over the global batch of all
      replicas of a tf.distribute strategy (TensorFlow backend), so N
      replicas normalise like one device on the paper's batch of 8; the
      trainer sets it whenever there is more than one replica.
    name: model name.
    feature_dim: the teacher's feature size for the last layer (None: the
      spec's own, 4096 = VGG-Face fc7 for Table 1).
    zero_init_output: start the last layer's kernel and bias at 0, so the
      untrained encoder predicts 0 instead of a random vector far larger
      than the teacher's features (the trainer's choice, see
      `EncoderModelConfig.zero_init_output`); False keeps Keras' defaults.

  Returns:
    keras.Model mapping (batch, time, num_freq_bins, 2) -> (batch, output_dim)
    for any time >= 16 frames (four time pools of 2).
  """
  if feature_dim:
    spec = with_output_dim(spec, feature_dim)
  inputs = keras.Input((None, num_freq_bins, 2), name="spectrogram")
  x = inputs

  def maybe_bn(x, row_name):
    if use_batch_norm:
      return layers.BatchNormalization(
          synchronized=synchronized_batch_norm, name=f"{row_name}_bn")(x)
    return x

  for row in spec:
    if row.kind in ("conv_relu_bn", "conv"):
      x = layers.Conv2D(row.filters, row.kernel, strides=row.strides,
                        padding="same", name=row.name)(x)
      if row.kind == "conv_relu_bn":
        x = layers.ReLU(name=f"{row.name}_relu")(x)
        x = maybe_bn(x, row.name)
    elif row.kind == "pool_time":
      x = layers.MaxPooling2D(row.kernel, strides=row.strides,
                              padding="valid", name=row.name)(x)
    elif row.kind == "avgpool_time_relu_bn":
      x = TimeAveragePool(name=row.name)(x)  # (batch, freq, ch)
      x = layers.ReLU(name=f"{row.name}_relu")(x)
      x = maybe_bn(x, row.name)
      x = layers.Flatten(name="flatten")(x)  # 65 * 512 for Table 1.
    elif row.kind in ("fc_relu", "fc"):
      last = row is spec[-1]
      zero = "zeros" if last and zero_init_output else None
      x = layers.Dense(row.filters, name=row.name,
                       activation="relu" if row.kind == "fc_relu" else None,
                       kernel_initializer=zero or "glorot_uniform",
                       bias_initializer="zeros")(x)
    else:
      raise ValueError(f"Unknown layer kind {row.kind!r} in row {row}")
  return keras.Model(inputs, x, name=name)
