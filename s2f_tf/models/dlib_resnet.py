"""dlib's 128-D face-recognition ResNet in Keras 3: a differentiable copy of the dlib128 teacher.

dlib's `dlib_face_recognition_resnet_model_v1` (Davis King; the network of
dlib's `dnn_face_recognition_ex.cpp`): a 150 x 150 RGB face chip, minus the
file's channel means, / 256 ->

  conv 7x7/2 (32, no padding) -> affine -> ReLU -> max pool 3x3/2 (no padding)
  -> residual units: 3 x 32, [down + 3] x 64, [down + 2] x 128,
     [down + 2] x 256, [down] x 256
  -> global average pool -> FC 128 (no bias).

A unit is conv 3x3 -> affine -> ReLU -> conv 3x3 -> affine, added to its
input, then ReLU. A down unit's first conv has stride 2 and no padding, and
its shortcut is a 2x2/2 average pool of the input; where the two branches
differ in size dlib's `add_prev` adds them into the larger shape, the
smaller one zero-padded at the end of each axis (extra channels; the last
rows and columns: at 8 -> 3 vs 4 and 4 -> 1 vs 2). Batch norm was folded into
the per-channel affine layers by dlib before the file was written.

`UNITS` is the architecture as data; `PARAMETER_COUNT` its golden size.
The weights come from the `.dat` file that `face-recognition-models`
installs (`dlib_resnet_weights.load`); this module imports no TensorFlow.
"""

import keras
from keras import layers
from keras import ops

CHIP_SIZE = 150  # input_rgb_image_sized<150>.
DIM = 128  # fc_no_bias<128>.
PIXEL_SCALE = 256.0  # dlib's input layer: (pixel - channel mean) / 256.
STEM_FILTERS = 32
# (filters, units, first unit downsamples), input side first.
UNITS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True),
         (256, 1, True))
# Worked by hand from UNITS (WORKSPACE.md, "dlib's network in Keras").
PARAMETER_COUNT = 5_614_592


@keras.saving.register_keras_serializable(package="s2f")
class ChannelAffine(layers.Layer):
  """y = x * gamma + beta per channel: dlib's `affine_` (folded batch norm)."""

  def build(self, input_shape):
    channels = input_shape[-1]
    self.gamma = self.add_weight(shape=(channels,), initializer="ones",
                                 name="gamma")
    self.beta = self.add_weight(shape=(channels,), initializer="zeros",
                                name="beta")

  def call(self, x):
    return x * self.gamma + self.beta


@keras.saving.register_keras_serializable(package="s2f")
class PaddedAdd(layers.Layer):
  """dlib's `add_prev`: the sum in the larger of the two shapes, each input
  zero-padded at the end of its spatial and channel axes."""

  def call(self, inputs):
    a, b = inputs
    shape = [max(sa, sb) for sa, sb in zip(a.shape[1:], b.shape[1:])]

    def pad(x):
      return ops.pad(x, [(0, 0)] + [(0, s - xs)
                                    for s, xs in zip(shape, x.shape[1:])])
    return pad(a) + pad(b)

  def compute_output_shape(self, input_shapes):
    a, b = input_shapes
    return (a[0],) + tuple(max(sa, sb) for sa, sb in zip(a[1:], b[1:]))


@keras.saving.register_keras_serializable(package="s2f")
class DlibInput(layers.Layer):
  """RGB pixels in [0, 255] -> (pixel - mean) / 256, dlib's input layer."""

  def __init__(self, means=(0.0, 0.0, 0.0), **kwargs):
    super().__init__(**kwargs)
    self.means = tuple(float(m) for m in means)

  def call(self, x):
    return (x - ops.convert_to_tensor(self.means, x.dtype)) / PIXEL_SCALE

  def get_config(self):
    return {**super().get_config(), "means": self.means}


def _conv(x, filters, size, stride, name):
  # dlib's con_ pads size // 2 when its stride is 1 and nothing otherwise.
  return layers.Conv2D(filters, size, stride,
                       padding="same" if stride == 1 else "valid",
                       name=name)(x)


def _unit(x, filters, down, name):
  stride = 2 if down else 1
  y = _conv(x, filters, 3, stride, f"{name}_conv1")
  y = ChannelAffine(name=f"{name}_affine1")(y)
  y = layers.ReLU(name=f"{name}_relu1")(y)
  y = _conv(y, filters, 3, 1, f"{name}_conv2")
  y = ChannelAffine(name=f"{name}_affine2")(y)
  shortcut = layers.AveragePooling2D(2, 2, name=f"{name}_pool")(x) if down \
      else x
  return layers.ReLU(name=f"{name}_out")(PaddedAdd(name=f"{name}_add")(
      [y, shortcut]))


def build(means=(0.0, 0.0, 0.0), name="dlib_resnet"):
  """(B, 150, 150, 3) RGB in [0, 255] -> (B, 128) face descriptor.

  `means`: the input layer's channel means (the weights file holds them;
  `dlib_resnet_weights.load` sets them with the weights).
  """
  chip = keras.Input((CHIP_SIZE, CHIP_SIZE, 3), name="chip")
  x = DlibInput(means, name="input_means")(chip)
  x = _conv(x, STEM_FILTERS, 7, 2, "stem_conv")
  x = ChannelAffine(name="stem_affine")(x)
  x = layers.ReLU(name="stem_relu")(x)
  x = layers.MaxPooling2D(3, 2, name="stem_pool")(x)
  for level, (filters, count, down) in enumerate(UNITS):
    for index in range(count):
      x = _unit(x, filters, down and index == 0, f"level{level}_unit{index}")
  x = layers.GlobalAveragePooling2D(name="pool")(x)
  descriptor = layers.Dense(DIM, use_bias=False, name="fc")(x)
  return keras.Model(chip, descriptor, name=name)


def weighted_layers(model):
  """The model's conv, affine and FC layers in forward order: the order in
  which dlib's file stores their parameters."""
  return [layer for layer in model.layers
          if isinstance(layer, (layers.Conv2D, ChannelAffine, layers.Dense))]
