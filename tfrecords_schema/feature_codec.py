"""tf.train.Feature builders shared by the schema modules (bytes, floats, int)."""

import numpy as np
import tensorflow as tf


def bytes_feature(value):
  if isinstance(value, str):
    value = value.encode("utf-8")
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def floats_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).reshape(-1).tolist()))


def int_feature(value):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def example_bytes(feature):
  """{key: Feature} -> serialized tf.train.Example."""
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()
