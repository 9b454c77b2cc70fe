"""Face-decoder training examples: the teacher's feature + aligned face + its 68 landmarks.

The texture target (the aligned face warped to the mean landmarks) is not
stored: it depends on the data set's mean shape, so the decoder's input
pipeline computes it. The input feature is the face teacher's
(`face_teacher`), named in every example.

Version history: 1 = first release (fc7 only); 2 = a named teacher's feature.
"""

import numpy as np
import tensorflow as tf

from tfrecords_schema import face_teacher
from tfrecords_schema import feature_codec

SCHEMA_VERSION = 2
NUM_LANDMARKS = 68

_VERSION = "meta/schema_version"
_FEATURE = "decoder/input_feature"
_TEACHER = "decoder/teacher"
_ALIGNED_JPEG = "decoder/aligned_face_jpeg"
_LANDMARKS = "decoder/landmarks_xy"
_IMAGE_ID = "decoder/image_id"
_AUGMENTATION = "decoder/augmentation"
_SOURCE_PATH = "source/path"



def feature_spec(teacher=face_teacher.DEFAULT):
  """The parse spec of examples made with the face teacher `teacher`."""
  return {
      _VERSION: tf.io.FixedLenFeature([], tf.int64),
      _FEATURE: tf.io.FixedLenFeature([face_teacher.get(teacher).dim],
                                      tf.float32),
      _TEACHER: tf.io.FixedLenFeature([], tf.string),
      _ALIGNED_JPEG: tf.io.FixedLenFeature([], tf.string),
      _LANDMARKS: tf.io.FixedLenFeature([NUM_LANDMARKS * 2], tf.float32),
      _IMAGE_ID: tf.io.FixedLenFeature([], tf.string),
      _AUGMENTATION: tf.io.FixedLenFeature([], tf.string, default_value=b""),
      _SOURCE_PATH: tf.io.FixedLenFeature([], tf.string, default_value=b""),
  }


FEATURE_SPEC = feature_spec()


def encode(*, fc7, aligned_jpeg, landmarks, image_id, augmentation="",
           source_path="", teacher=face_teacher.DEFAULT):
  """Serialises one example; landmarks are (68, 2) (x, y) aligned pixels,
  `fc7` the face's feature by `teacher`."""
  fc7 = np.asarray(fc7, np.float32).reshape(-1)
  landmarks = np.asarray(landmarks, np.float32)
  dim = face_teacher.get(teacher).dim
  if fc7.shape != (dim,):
    raise ValueError(f"a {teacher} feature has {dim} values, got "
                     f"{fc7.shape}")
  if landmarks.shape != (NUM_LANDMARKS, 2):
    raise ValueError(f"landmarks must be (68, 2), got {landmarks.shape}")
  feature = {
      _VERSION: feature_codec.int_feature(SCHEMA_VERSION),
      _FEATURE: feature_codec.floats_feature(fc7),
      _TEACHER: feature_codec.bytes_feature(teacher),
      _ALIGNED_JPEG: feature_codec.bytes_feature(aligned_jpeg),
      _LANDMARKS: feature_codec.floats_feature(landmarks),
      _IMAGE_ID: feature_codec.bytes_feature(image_id),
      _AUGMENTATION: feature_codec.bytes_feature(augmentation),
      _SOURCE_PATH: feature_codec.bytes_feature(source_path),
  }
  return feature_codec.example_bytes(feature)


def decode(serialized, teacher=face_teacher.DEFAULT):
  """Parses one example made with `teacher`: 'fc7' (the teacher's feature),
  aligned_image (uint8), landmarks (68, 2), ids."""
  parsed = tf.io.parse_single_example(serialized, feature_spec(teacher))
  return {
      "schema_version": parsed[_VERSION],
      "fc7": parsed[_FEATURE],
      "teacher": parsed[_TEACHER],
      "aligned_image": tf.io.decode_jpeg(parsed[_ALIGNED_JPEG], channels=3),
      "landmarks": tf.reshape(parsed[_LANDMARKS], (NUM_LANDMARKS, 2)),
      "image_id": parsed[_IMAGE_ID],
      "augmentation": parsed[_AUGMENTATION],
      "source_path": parsed[_SOURCE_PATH],
  }


def teacher_of_record(serialized):
  """The face teacher named in one serialized example, or None (schema 1)."""
  parsed = tf.io.parse_single_example(serialized, {
      _TEACHER: tf.io.FixedLenFeature([], tf.string, default_value=b"")})
  return parsed[_TEACHER].numpy().decode("utf-8") or None


def image_id_of(serialized):
  """The image id of one serialized example (bytes; no image decoded)."""
  example = tf.train.Example.FromString(serialized)
  return example.features.feature[_IMAGE_ID].bytes_list.value[0]


def with_input_feature(serialized, feature, augmentation):
  """The same face with another decoder input: the serialized example with
  its feature replaced by `feature` (same length) and `augmentation` naming
  where that feature came from."""
  example = tf.train.Example.FromString(serialized)
  values = example.features.feature[_FEATURE].float_list.value
  feature = np.asarray(feature, np.float32).reshape(-1)
  if feature.shape != (len(values),):
    raise ValueError(f"the example's feature has {len(values)} values, the "
                     f"new one {feature.size}")
  values[:] = feature.tolist()
  example.features.feature[_AUGMENTATION].bytes_list.value[:] = [
      augmentation.encode("utf-8")]
  return example.SerializeToString()


def feature_keys():
  return tuple(FEATURE_SPEC)
