"""The frozen heads of Eq. 1: face-decoder fc (4096 -> 1000) and VGG-Face fc8.

Both are loaded from files the user provides (an exported face decoder, the
released VGG-Face weights). Training refuses to start without them
(`check_heads`) unless random heads are explicitly allowed (tests, demo);
then a seeded random layer stands in and a warning says so loudly: the loss
only exercises the pipeline.
"""

import os


from absl import logging
import keras
import numpy as np

from s2f_tf.models import face_decoder
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights

def _frozen_dense(units, name, seed, kernel=None, bias=None):
  layer = keras.layers.Dense(
      units, name=name, kernel_initializer=keras.initializers.GlorotUniform(
          seed=seed))
  layer.build((None, face_decoder.FEATURE_DIM))
  if kernel is not None:
    layer.set_weights([kernel.reshape(face_decoder.FEATURE_DIM, units).astype(np.float32),
                       bias.reshape(units).astype(np.float32)])
  layer.trainable = False
  return layer


def check_heads(decoder_path, fc8_weights, allow_random_heads):
  """Raises a ValueError naming what to provide unless both heads are real.

  Given paths must exist; missing ones are an error unless
  `allow_random_heads`.
  """
  for flag, path in (("decoder_path", decoder_path),
                     ("fc8_weights", fc8_weights)):
    if path and not os.path.isfile(path):
      raise FileNotFoundError(f"--{flag}={path}: no such file")
  missing = [flag for flag, path in (("decoder_path", decoder_path),
                                     ("fc8_weights", fc8_weights)) if not path]
  if missing and not allow_random_heads:
    raise ValueError(
        "Eq. 1 needs the frozen heads: give "
        + " and ".join(f"--{m}" for m in missing)
        + " (--decoder_path: a face decoder exported by s2f-train-face-decoder;"
        " --fc8_weights: the released VGG-Face rcmalli_vggface_tf_vgg16.h5 or "
        "vgg_face.mat), or pass --allow_random_heads to test the pipeline "
        "with random ones")


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
    return _frozen_dense(face_decoder.FC1000_UNITS, face_decoder.FC_LAYER, seed + 1), None
  decoder = keras.models.load_model(decoder_path, compile=False)
  decoder.trainable = False
  return decoder.get_layer(face_decoder.FC_LAYER), decoder
