"""VGG-Face (Parkhi et al., BMVC 2015) in Keras: VGG-16 layout, 2622 identities.

Layer names follow the released models (conv1_1 ... conv5_3, fc6, fc7, fc8) so
the weight loaders in `vgg_face_weights.py` can match them by name. The model
takes images already passed through `preprocess_input` and returns two
outputs: `fc7` (4096-D, after its ReLU: the target v_f of Speech2Face, see
WORKSPACE.md) and `fc8` (2622 logits, before the softmax: what Eq. 1's
distillation term reads).
"""

import keras
from keras import layers
from keras import ops
import numpy as np

from tfrecords_schema import face_teacher

IMAGE_SIZE = face_teacher.FACE_SIZE  # The network's input crops.
NUM_IDENTITIES = 2622  # fc8 width of the released VGG-Face.
FC_UNITS = face_teacher.FC7_DIM  # fc6 / fc7 width.
# Blocks of 3x3 convs, each block followed by a 2x2 max-pool (VGG-16).
CONV_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512),
               (512, 512, 512))
# Channel means of the VGG-Face training set in BGR order, as released
# (MatConvNet `averageImage`, keras-vggface `preprocess_input(version=1)`).
MEAN_BGR = (93.5940, 104.7624, 129.1863)
FC7_AFTER_RELU = True  # See WORKSPACE.md.


def preprocess_input(images_rgb):
  """RGB images in [0, 255] -> the released model's input (BGR, mean removed)."""
  images = ops.convert_to_tensor(images_rgb, dtype="float32")
  bgr = ops.flip(images, axis=-1)
  return bgr - ops.convert_to_tensor(MEAN_BGR, dtype="float32")


def build_vgg_face(conv_blocks=CONV_BLOCKS, fc_units=FC_UNITS,
                   num_identities=NUM_IDENTITIES, image_size=IMAGE_SIZE,
                   fc7_after_relu=FC7_AFTER_RELU, name="vgg_face"):
  """Builds VGG-Face; sizes are arguments so tests can build a small twin.

  Returns:
    keras.Model: preprocessed (batch, size, size, 3) -> {'fc7', 'fc8'}.
  """
  inputs = keras.Input((image_size, image_size, 3), name="image")
  x = inputs
  for block, widths in enumerate(conv_blocks, start=1):
    for index, width in enumerate(widths, start=1):
      x = layers.Conv2D(width, 3, padding="same", activation="relu",
                        name=f"conv{block}_{index}")(x)
    x = layers.MaxPooling2D(2, strides=2, name=f"pool{block}")(x)
  x = layers.Flatten(name="flatten")(x)
  x = layers.Dense(fc_units, activation="relu", name="fc6")(x)
  fc7 = layers.Dense(fc_units, name="fc7")(x)
  fc7_relu = layers.ReLU(name="fc7_relu")(fc7)
  fc8 = layers.Dense(num_identities, name="fc8")(fc7_relu)
  feature = fc7_relu if fc7_after_relu else fc7
  return keras.Model(inputs, {"fc7": feature, "fc8": fc8}, name=name)


def extract_fc7(model, crops_rgb, batch_size=16):
  """fc7 features of (n, 224, 224, 3) RGB face crops in [0, 255]."""
  outputs = []
  for start in range(0, len(crops_rgb), batch_size):
    batch = preprocess_input(crops_rgb[start:start + batch_size])
    outputs.append(ops.convert_to_numpy(model(batch, training=False)["fc7"]))
  return np.concatenate(outputs, axis=0)


def fc8_layer(model):
  """The model's fc8 Dense layer (4096 -> 2622), to pass to the loss."""
  return model.get_layer("fc8")
