"""tf.data reader of face-decoder shards: aligned face, landmarks, texture target.

The texture target is the aligned face warped from its own landmarks to the
data set's mean landmarks (Cole et al.: texture in the mean-shape frame); it
is computed here with the same spline warp the decoder uses.
"""

import functools

import numpy as np
import tensorflow as tf

from s2f_tf.models import face_decoder
from s2f_tf.models import spline_warp
from tfrecords_schema import face_decoder_example
from tfrecords_schema import face_teacher
from tfrecords_schema import shard_summary


def parse(example, mean_landmarks):
  size = face_decoder.IMAGE_SIZE
  image = tf.ensure_shape(example["aligned_image"], (size, size, 3))
  image = tf.cast(image, tf.float32) / 255.0
  mean = tf.constant(np.asarray(mean_landmarks, np.float32))
  texture = spline_warp.tps_warp(image[None], example["landmarks"][None],
                                 mean[None])[0]
  return {"fc7": example["fc7"], "image": image, "texture": texture,
          "landmarks": example["landmarks"]}


_PIXELS = ("image", "texture")


def _to_bytes(example):
  """image and texture in [0, 1] -> uint8 (the texture, a bilinear warp of
  an 8-bit image, rounds to within half a level)."""
  return dict(example, **{k: tf.cast(tf.round(tf.clip_by_value(
      example[k], 0.0, 1.0) * 255.0), tf.uint8) for k in _PIXELS})


def _to_float(example):
  return dict(example, **{k: tf.cast(example[k], tf.float32) / 255.0
                          for k in _PIXELS})


def make_dataset(file_pattern, mean_landmarks, batch_size, is_training,
                 deterministic=False, seed=None, shuffle_buffer=1024,
                 cache=False, skip_examples=0, teacher=None):
  """Batches of {'fc7', 'image', 'texture', 'landmarks'}.

  `teacher`: the face teacher the shards were made with (their summary.json
  records it; the default is the paper's).

  `cache` keeps parsed examples in memory as 8-bit images and textures
  (~0.3 MB a face; tens of thousands fit): the texture warp is then paid
  once, not every epoch. `skip_examples` passes over the
  start of the (shuffled) stream: a resumed run continues the data order.
  """
  files = sorted(tf.io.gfile.glob(file_pattern))
  if not files:
    raise FileNotFoundError(f"no face-decoder shards match {file_pattern!r}")
  teacher = teacher or face_teacher.DEFAULT
  shard_summary.check_teacher(files, teacher,
                              face_decoder_example.teacher_of_record,
                              "The face-decoder data in")
  ds = tf.data.TFRecordDataset(files).ignore_errors(log_warning=True)
  decode = functools.partial(face_decoder_example.decode,
                             teacher=teacher)

  def parsed(records):
    records = records.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    return records.map(lambda e: parse(e, mean_landmarks),
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=deterministic or None)

  if cache:  # 8-bit in memory: a quarter of float32's ~1.2 MB a face
    ds = parsed(ds).map(_to_bytes,
                        num_parallel_calls=tf.data.AUTOTUNE).cache()
  if is_training:
    ds = ds.repeat()
    if not deterministic:
      ds = ds.shuffle(shuffle_buffer, seed=seed)
  # Skipped examples are shuffled records or cached 8-bit tensors: a resumed
  # run passes over them without parsing (or converting) any of them.
  if skip_examples:
    ds = ds.skip(skip_examples)
  if cache:
    ds = ds.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE)
  else:
    ds = parsed(ds)
  return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
