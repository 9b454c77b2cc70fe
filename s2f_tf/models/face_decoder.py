"""Face decoder after Cole et al., CVPR 2017: identity feature -> canonical face.

feature (the face teacher's: 4096, VGG-Face fc7; or 128, dlib128)
  -> fc1000 (linear; the f_dec of Speech2Face's Eq. 1) -> ReLU
  -> landmarks: FC -> FC(68 x 2) offsets added to the mean shape (pixels)
  -> texture: FC -> 7 x 7 map -> five stride-2 transposed convs -> 224 x 224 RGB
     in the mean-landmark frame
  -> image: the texture warped from the mean to the predicted landmarks by a
     thin-plate spline (`spline_warp.SplineWarp`).

Widths come from `SPECS` (the full decoder and a narrow twin for tests and
the demo on a CPU), like the voice encoder's table. `image_model` gives the single-output model that the
voice-encoder trainer loads frozen.
"""

import collections

import keras
from keras import layers
from keras import ops
import numpy as np

from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.models import spline_warp
from tfrecords_schema import face_teacher

FEATURE_DIM = face_teacher.FC7_DIM  # The decoder's input.
FC_LAYER = "fc1000"  # Name of the first layer: Eq. 1's f_dec.
FC1000_UNITS = 1000  # f_dec: 4096 -> 1000 (Speech2Face Sec. 3.2).
IMAGE_SIZE = face_teacher.FACE_SIZE
SEED_SIZE = 7  # 7 x 2^5 = 224.
TEXTURE_CHANNELS = (256, 128, 64, 32, 32)  # One per stride-2 transposed conv.
LANDMARK_HIDDEN = 256
NUM_LANDMARKS = landmarks_lib.NUM_LANDMARKS


class Spec(collections.namedtuple("Spec", "texture_channels landmark_hidden")):
  """Widths of one decoder variant: the five transposed convs, the landmark
  branch's hidden FC."""


# The decoder (s2f's sizes, WORKSPACE.md); `small`, 1/4 of every width,
# for the model that ships (14 MB of float32 weights with dlib128's input;
# trained for hours on a 2-core CPU: the full widths take ~16x its time per
# step); and the narrow twin, 1/8 of every width, for CPU tests and the
# demo, never for results.
SPECS = {
    "full": Spec(TEXTURE_CHANNELS, LANDMARK_HIDDEN),
    "small": Spec(tuple(c // 4 for c in TEXTURE_CHANNELS),
                  LANDMARK_HIDDEN // 4),
    "tiny": Spec(tuple(max(4, c // 8) for c in TEXTURE_CHANNELS),
                 max(8, LANDMARK_HIDDEN // 8)),
}


@keras.saving.register_keras_serializable(package="s2f")
class MeanShapeOffset(layers.Layer):
  """(B, 2N) offsets -> (B, N, 2) landmarks = mean shape + scale x offsets.

  Offsets are predicted in units of the image size (`scale` = 224 px), so the
  landmark branch's outputs are of order 0.01-0.1 like its activations;
  predicting raw pixels would need ~200x larger weights.
  """

  def __init__(self, mean_landmarks, scale=IMAGE_SIZE, **kwargs):
    super().__init__(**kwargs)
    self.mean_landmarks = [[float(x), float(y)] for x, y in mean_landmarks]
    self.scale = float(scale)

  def call(self, offsets):
    mean = ops.convert_to_tensor(self.mean_landmarks, dtype=offsets.dtype)
    points = ops.reshape(offsets, (-1, len(self.mean_landmarks), 2))
    return points * self.scale + mean

  def compute_output_shape(self, input_shape):
    return (input_shape[0], len(self.mean_landmarks), 2)

  def get_config(self):
    config = super().get_config()
    config.update(mean_landmarks=self.mean_landmarks, scale=self.scale)
    return config


@keras.saving.register_keras_serializable(package="s2f")
def clip_unit(x):
  """Clips to the image range [0, 1]."""
  return ops.clip(x, 0.0, 1.0)


def build_face_decoder(mean_landmarks, spec=SPECS["full"], use_batch_norm=False,
                       name="face_decoder", feature_dim=FEATURE_DIM):
  """Builds the decoder.

  Args:
    mean_landmarks: (68, 2) mean shape (x, y) in the 224 x 224 aligned frame
      (from the decoder data's summary.json).
    spec: a `Spec` (SPECS['full'] by default; tests pass smaller ones).
    use_batch_norm: BN after each transposed conv. Off by default: the
      texture branch learns to beat BN's per-channel normalisation with one
      huge-activation spot at the face centre (a white blot; StyleGAN2's
      "droplet" artefact of normalisation), see WORKSPACE.md.
    feature_dim: the face teacher's feature size (4096 for VGG-Face fc7,
      128 for dlib128).

  Returns:
    keras.Model: (B, 4096) -> {'image', 'texture' (unclipped: the texture
    loss sees it), 'landmarks'}; images in
    [0, 1], landmarks in pixels.
  """
  mean_landmarks = np.asarray(mean_landmarks, np.float32)
  if mean_landmarks.shape != (NUM_LANDMARKS, 2):
    raise ValueError(f"mean_landmarks must be (68, 2), not "
                     f"{mean_landmarks.shape}")
  texture_channels, landmark_hidden = spec
  if len(texture_channels) != 5:
    raise ValueError("five transposed convs take 7 x 7 to 224 x 224")
  inputs = keras.Input((feature_dim,), name="feature")
  shared = layers.Dense(FC1000_UNITS, name=FC_LAYER)(inputs)
  hidden = layers.ReLU(name="fc1000_relu")(shared)

  x = layers.Dense(landmark_hidden, activation="relu",
                   name="landmark_fc")(hidden)
  offsets = layers.Dense(2 * NUM_LANDMARKS, kernel_initializer="zeros",
                         name="landmark_offsets")(x)
  points = MeanShapeOffset(mean_landmarks, name="landmarks")(offsets)

  x = layers.Dense(SEED_SIZE * SEED_SIZE * texture_channels[0],
                   activation="relu", name="texture_fc")(hidden)
  x = layers.Reshape((SEED_SIZE, SEED_SIZE, texture_channels[0]),
                     name="texture_seed")(x)
  for index, width in enumerate(texture_channels, start=1):
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same",
                               activation="relu", name=f"deconv{index}")(x)
    if use_batch_norm:
      x = layers.BatchNormalization(name=f"deconv{index}_bn")(x)
  # Linear texture, clipped to [0, 1] only where it becomes the image. A
  # sigmoid here traps pixels: once one saturates, sigmoid' ~ 0 cancels the
  # texture L1 gradient and it can never come back (the demo's decoder
  # had ~100 pure-white pixels at the centre of every face, where the 7 x 7
  # seed's centre cell grows through the five transposed convs).
  texture = layers.Conv2D(3, 3, padding="same", name="texture")(x)
  visible = layers.Activation(clip_unit, name="texture_clipped")(texture)
  image = spline_warp.SplineWarp(mean_landmarks, name="image")(visible,
                                                                points)
  return keras.Model(inputs, {"image": image, "texture": texture,
                              "landmarks": points}, name=name)


def image_model(decoder):
  """The single-output (B, 4096) -> (B, 224, 224, 3) model used frozen by the
  voice-encoder trainer (its `fc1000` layer is Eq. 1's f_dec)."""
  return keras.Model(decoder.input, decoder.output["image"],
                     name="face_decoder_image")


def copy_weights(path, decoder):
  """Sets `decoder`'s weights from the decoder saved at `path` (an export
  or a full decoder), layer by layer by name; one clear error when a layer
  is missing or differs in shape (another --decoder width or teacher)."""
  import os  # pylint: disable=g-import-not-at-top
  if not os.path.exists(path):
    raise FileNotFoundError(f"--init_decoder {path} does not exist")
  source = keras.models.load_model(path, compile=False)
  names = {layer.name: layer for layer in source.layers}
  for layer in decoder.layers:
    if not layer.weights:
      continue
    other = names.get(layer.name)
    shapes = [tuple(w.shape) for w in layer.weights]
    if other is None or [tuple(w.shape) for w in other.weights] != shapes:
      raise ValueError(f"--init_decoder {path}: its layer {layer.name!r} "
                       f"does not match this decoder's {shapes} (same "
                       "--decoder width and face teacher?)")
    layer.set_weights(other.get_weights())
