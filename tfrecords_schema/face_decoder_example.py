"""Face-decoder training examples: input fc7 + aligned face + its 68 landmarks.

The texture target (the aligned face warped to the mean landmarks) is not
stored: it depends on the data set's mean shape, so the decoder's input
pipeline computes it. Version history: 1 = first release.
"""

import numpy as np
import tensorflow as tf

from tfrecords_schema import feature_codec
from tfrecords_schema import speech_face

SCHEMA_VERSION = 1
NUM_LANDMARKS = 68

_VERSION = "meta/schema_version"
_FC7 = "decoder/input_fc7"
_ALIGNED_JPEG = "decoder/aligned_face_jpeg"
_LANDMARKS = "decoder/landmarks_xy"
_IMAGE_ID = "decoder/image_id"
_AUGMENTATION = "decoder/augmentation"
_SOURCE_PATH = "source/path"

FEATURE_SPEC = {
    _VERSION: tf.io.FixedLenFeature([], tf.int64),
    _FC7: tf.io.FixedLenFeature([speech_face.FC7_DIM], tf.float32),
    _ALIGNED_JPEG: tf.io.FixedLenFeature([], tf.string),
    _LANDMARKS: tf.io.FixedLenFeature([NUM_LANDMARKS * 2], tf.float32),
    _IMAGE_ID: tf.io.FixedLenFeature([], tf.string),
    _AUGMENTATION: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    _SOURCE_PATH: tf.io.FixedLenFeature([], tf.string, default_value=b""),
}


def encode(*, fc7, aligned_jpeg, landmarks, image_id, augmentation="",
           source_path=""):
  """Serialises one example; landmarks are (68, 2) (x, y) aligned pixels."""
  fc7 = np.asarray(fc7, np.float32).reshape(-1)
  landmarks = np.asarray(landmarks, np.float32)
  if fc7.shape != (speech_face.FC7_DIM,):
    raise ValueError(f"fc7 must have {speech_face.FC7_DIM} values, got {fc7.shape}")
  if landmarks.shape != (NUM_LANDMARKS, 2):
    raise ValueError(f"landmarks must be (68, 2), got {landmarks.shape}")
  feature = {
      _VERSION: feature_codec.int_feature(SCHEMA_VERSION),
      _FC7: feature_codec.floats_feature(fc7),
      _ALIGNED_JPEG: feature_codec.bytes_feature(aligned_jpeg),
      _LANDMARKS: feature_codec.floats_feature(landmarks),
      _IMAGE_ID: feature_codec.bytes_feature(image_id),
      _AUGMENTATION: feature_codec.bytes_feature(augmentation),
      _SOURCE_PATH: feature_codec.bytes_feature(source_path),
  }
  return feature_codec.example_bytes(feature)


def decode(serialized):
  """Parses one example: fc7, aligned_image (uint8), landmarks (68, 2), ids."""
  parsed = tf.io.parse_single_example(serialized, FEATURE_SPEC)
  return {
      "schema_version": parsed[_VERSION],
      "fc7": parsed[_FC7],
      "aligned_image": tf.io.decode_jpeg(parsed[_ALIGNED_JPEG], channels=3),
      "landmarks": tf.reshape(parsed[_LANDMARKS], (NUM_LANDMARKS, 2)),
      "image_id": parsed[_IMAGE_ID],
      "augmentation": parsed[_AUGMENTATION],
      "source_path": parsed[_SOURCE_PATH],
  }


def feature_keys():
  return tuple(FEATURE_SPEC)
