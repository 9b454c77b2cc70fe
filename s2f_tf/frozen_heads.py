"""The frozen heads of Eq. 1: face-decoder fc (4096 -> 1000) and VGG-Face fc8.

Both are loaded from files the user provides (an exported face decoder, the
released VGG-Face weights). Without them a seeded random layer stands in and a
warning says so loudly: the loss then only exercises the pipeline.
"""

from absl import logging
import keras
import numpy as np

from s2f_tf.models import face_decoder
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights

FEATURE_DIM = 4096


def _frozen_dense(units, name, seed, kernel=None, bias=None):
  layer = keras.layers.Dense(
      units, name=name, kernel_initializer=keras.initializers.GlorotUniform(
          seed=seed))
  layer.build((None, FEATURE_DIM))
  if kernel is not None:
    layer.set_weights([kernel.reshape(FEATURE_DIM, units).astype(np.float32),
                       bias.reshape(units).astype(np.float32)])
  layer.trainable = False
  return layer


def load_fc8(weights_path="", seed=0):
  """VGG-Face fc8 (4096 -> 2622) from a released weight file, frozen."""
  if not weights_path:
    logging.warning(
        "No VGG-Face weights given (--fc8_weights): using a RANDOM frozen fc8. "
        "The distillation term is then meaningless beyond testing the "
        "pipeline. %s", vgg_face_weights.DOWNLOAD_HELP.format(path=""))
    return _frozen_dense(vgg_face.NUM_IDENTITIES, "fc8", seed)
  kernel, bias = vgg_face_weights.read_weights(weights_path)["fc8"][:2]
  return _frozen_dense(vgg_face.NUM_IDENTITIES, "fc8", seed, kernel, bias)


def load_face_decoder(decoder_path="", seed=0):
  """Returns (decoder_fc layer, whole decoder model or None), both frozen."""
  if not decoder_path:
    logging.warning(
        "No face decoder given (--decoder_path): using a RANDOM frozen "
        "Dense(1000) as f_dec. Train one with the face-decoder binary for "
        "meaningful results.")
    return _frozen_dense(face_decoder.FC_UNITS, face_decoder.FC_LAYER, seed + 1), None
  decoder = keras.models.load_model(decoder_path, compile=False)
  decoder.trainable = False
  return decoder.get_layer(face_decoder.FC_LAYER), decoder
