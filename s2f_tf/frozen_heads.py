"""The frozen heads of Eq. 1: face-decoder fc (feature -> 1000) and VGG-Face fc8.

The feature is the face teacher's (`face_teacher`): 4096-D VGG-Face fc7 for
the paper; dlib128 has no identity classifier, so no fc8 (lambda3 = 0).

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
from tfrecords_schema import face_teacher


def _frozen_dense(units, name, seed, kernel=None, bias=None,
                  input_dim=face_decoder.FEATURE_DIM):
  layer = keras.layers.Dense(
      units, name=name, kernel_initializer=keras.initializers.GlorotUniform(
          seed=seed))
  layer.build((None, input_dim))
  if kernel is not None:
    layer.set_weights([kernel.reshape(input_dim, units).astype(np.float32),
                       bias.reshape(units).astype(np.float32)])
  layer.trainable = False
  return layer


def check_heads(decoder_path, fc8_weights, allow_random_heads,
                teacher=face_teacher.DEFAULT):
  """Raises a ValueError naming what to provide unless the heads are real.

  Given paths must exist; missing ones are an error unless
  `allow_random_heads`. A teacher without an identity classifier (dlib128)
  needs no fc8.
  """
  heads = [("decoder_path", decoder_path)]
  if face_teacher.get(teacher).has_identity_classifier:
    heads.append(("fc8_weights", fc8_weights))
  for flag, path in heads:
    if path and not os.path.isfile(path):
      raise FileNotFoundError(f"--{flag}={path}: no such file")
  missing = [flag for flag, path in heads if not path]
  if missing and not allow_random_heads:
    raise ValueError(
        "Eq. 1 needs the frozen heads: give "
        + " and ".join(f"--{m}" for m in missing)
        + " (--decoder_path: a face decoder exported by s2f-train-face-decoder;"
        " --fc8_weights: the released VGG-Face rcmalli_vggface_tf_vgg16.h5 or "
        "vgg_face.mat), or pass --allow_random_heads to test the pipeline "
        "with random ones")


def load_fc8(weights_path="", seed=0, teacher=face_teacher.DEFAULT):
  """VGG-Face fc8 (4096 -> 2622) from a released weight file, frozen; None
  for a teacher without an identity classifier (dlib128)."""
  if not face_teacher.get(teacher).has_identity_classifier:
    return None
  if not weights_path:
    logging.warning(
        "No VGG-Face weights given (--fc8_weights): using a RANDOM frozen fc8. "
        "The distillation term is then meaningless beyond testing the "
        "pipeline. %s", vgg_face_weights.DOWNLOAD_HELP.format(path=""))
    return _frozen_dense(vgg_face.NUM_IDENTITIES, "fc8", seed)
  kernel, bias = vgg_face_weights.read_weights(weights_path)["fc8"][:2]
  return _frozen_dense(vgg_face.NUM_IDENTITIES, "fc8", seed, kernel, bias)


def decoder_teacher_dim(decoder):
  """The feature size a face decoder takes (its teacher's dimension)."""
  return int(decoder.input.shape[-1]) if not isinstance(
      decoder.input, (list, dict)) else int(decoder.inputs[0].shape[-1])


def load_face_decoder(decoder_path="", seed=0, teacher=face_teacher.DEFAULT):
  """Returns (decoder_fc layer, whole decoder model or None), both frozen.

  A decoder made for another face teacher is a TeacherMismatchError.
  """
  dim = face_teacher.get(teacher).dim
  if not decoder_path:
    logging.warning(
        "No face decoder given (--decoder_path): using a RANDOM frozen "
        "Dense(1000) as f_dec. Train one with the face-decoder binary for "
        "meaningful results.")
    return _frozen_dense(face_decoder.FC1000_UNITS, face_decoder.FC_LAYER,
                         seed + 1, input_dim=dim), None
  decoder = keras.models.load_model(decoder_path, compile=False)
  face_teacher.check_same(teacher, decoder_teacher_dim(decoder),
                          f"The face decoder {decoder_path}")
  decoder.trainable = False
  return decoder.get_layer(face_decoder.FC_LAYER), decoder
