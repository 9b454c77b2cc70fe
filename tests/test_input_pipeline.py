"""Tests for the tf.data reader of speech/face shards."""

import os

import numpy as np
import tensorflow as tf

from s2f_tf import input_pipeline
from tests import fake_shards


class InputPipelineTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path
    self.pattern = fake_shards.write_shards(self.dir, "train", 10)

  def test_batches_shapes_and_drop_remainder(self):
    ds = input_pipeline.make_dataset(self.pattern, 4, is_training=False,
                                     deterministic=True, with_images=True)
    batches = list(ds)
    self.assertLen(batches, 2)  # 10 examples -> 2 full batches of 4
    batch = batches[0]
    self.assertEqual(batch["spectrogram"].shape, (4, 598, 257, 2))
    self.assertEqual(batch["fc7"].shape, (4, 4096))
    self.assertEqual(batch["face_image"].shape, (4, 224, 224, 3))
    self.assertEqual(batch["face_image"].dtype, tf.uint8)

  def test_three_second_segment(self):
    ds = input_pipeline.make_dataset(self.pattern, 2, is_training=False,
                                     segment_seconds=3.0, deterministic=True)
    self.assertEqual(next(iter(ds))["spectrogram"].shape, (2, 298, 257, 2))

  def test_deterministic_order_is_reproducible(self):
    make = lambda: [b["fc7"].numpy() for b in input_pipeline.make_dataset(
        self.pattern, 2, is_training=True, deterministic=True, repeat=False)]
    first, second = make(), make()
    self.assertLen(first, 5)
    for a, b in zip(first, second):
      np.testing.assert_array_equal(a, b)

  def test_training_repeats_and_shuffles(self):
    ds = input_pipeline.make_dataset(self.pattern, 4, is_training=True,
                                     shuffle_buffer=16, seed=1)
    ids = [b["fc7"].numpy().sum() for b in ds.take(6)]  # > 10 examples
    self.assertLen(ids, 6)

  def test_truncated_shard_is_read_up_to_the_damage(self):
    files = sorted(tf.io.gfile.glob(self.pattern))
    data = open(files[0], "rb").read()
    with open(files[0], "wb") as f:
      f.write(data[:len(data) - 1000])  # cut the last record short
    ds = input_pipeline.make_dataset(self.pattern, 1, is_training=False,
                                     deterministic=True)
    self.assertLen(list(ds), 9)

  def test_missing_shards_raise(self):
    with self.assertRaisesRegex(FileNotFoundError, "no TFRecord shards"):
      input_pipeline.make_dataset(os.path.join(self.dir, "nope-*"), 2, False)

  def test_face_decoding_eager_and_in_map_agree(self):
    jpeg = tf.io.encode_jpeg(tf.fill((32, 32, 3), tf.constant(200, tf.uint8)))
    eager = input_pipeline.decode_face_jpeg(jpeg)
    mapped = next(iter(tf.data.Dataset.from_tensors(jpeg).map(
        input_pipeline.decode_face_jpeg)))
    self.assertAllEqual(eager, mapped)
    self.assertAllClose(tf.reduce_mean(tf.cast(eager, tf.float32)), 200.0,
                        atol=2.0)
    empty = input_pipeline.decode_face_jpeg(tf.constant(b""))
    self.assertEqual(int(tf.reduce_max(empty)), 0)


if __name__ == "__main__":
  tf.test.main()
