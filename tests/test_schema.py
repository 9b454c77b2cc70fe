"""Tests for the TFRecord schema: round trip and no stray feature keys."""

import os
import re

import numpy as np
import tensorflow as tf

from tests import shared_data
from tfrecords_schema import face_decoder_example
from tfrecords_schema import speech_face


def example(seed=0, samples=24000):
  rng = np.random.RandomState(seed)
  return dict(
      waveform=np.clip(0.3 * rng.randn(samples), -0.99, 0.99),
      sample_rate=16000, fc7=rng.rand(4096), clip_id=f"clip{seed}",
      speaker_id="spk", face_jpeg=b"\xff\xd8jpeg", face_box=(0.1, 0.2, 0.5, 0.7),
      frame_time_s=1.5, source_path="/data/a.mp4", source_dataset="avspeech",
      start_s=3.0, end_s=9.5)


class SchemaTest(tf.test.TestCase):

  def _check(self, decoded, values):
    self.assertEqual(int(decoded["schema_version"]), speech_face.SCHEMA_VERSION)
    # int16 quantisation: at most half a step of 1/32768.
    self.assertAllClose(decoded["waveform"], values["waveform"],
                        atol=0.5 / 32768 + 1e-7)
    self.assertAllClose(decoded["fc7"], values["fc7"])
    self.assertEqual(decoded["clip_id"].numpy(), values["clip_id"].encode())
    self.assertEqual(decoded["face_jpeg"].numpy(), values["face_jpeg"])
    self.assertAllClose(decoded["face_box"], values["face_box"])
    self.assertAllClose(decoded["end_s"], 9.5)

  def test_round_trip_eager_and_in_dataset_map(self):
    values = example()
    serialized = speech_face.encode(**values)
    self._check(speech_face.decode(serialized), values)
    path = os.path.join(self.get_temp_dir(), "x.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
      writer.write(serialized)
    decoded = next(iter(tf.data.TFRecordDataset(path).map(speech_face.decode)))
    self._check(decoded, values)

  def test_six_seconds_is_192_kb(self):
    serialized = speech_face.encode(**example(samples=96000))
    # 192,000 bytes of PCM + 16 KB fc7 + metadata, far below 1.2 MB.
    self.assertBetween(len(serialized), 192_000 + 16_384, 192_000 + 17_500)

  def test_rejects_wrong_fc7(self):
    values = example()
    values["fc7"] = np.zeros(10)
    with self.assertRaisesRegex(ValueError, "4096"):
      speech_face.encode(**values)

  def test_face_decoder_round_trip(self):
    rng = np.random.RandomState(0)
    fc7, points = rng.rand(4096), rng.uniform(0, 224, (68, 2))
    jpeg = tf.io.encode_jpeg(tf.fill((224, 224, 3), tf.constant(
        90, tf.uint8))).numpy()
    decoded = face_decoder_example.decode(face_decoder_example.encode(
        fc7=fc7, aligned_jpeg=jpeg, landmarks=points, image_id="img1",
        augmentation="flip"))
    self.assertAllClose(decoded["fc7"], fc7)
    self.assertAllClose(decoded["landmarks"], points)
    self.assertEqual(decoded["aligned_image"].shape, (224, 224, 3))
    self.assertEqual(decoded["augmentation"].numpy(), b"flip")
    with self.assertRaisesRegex(ValueError, "68"):
      face_decoder_example.encode(fc7=fc7, aligned_jpeg=jpeg,
                                  landmarks=points[:5], image_id="x")

  def test_with_input_feature_changes_the_feature_and_nothing_else(self):
    rng = np.random.RandomState(1)
    fc7, points, new = rng.rand(128), rng.uniform(0, 224, (68, 2)), \
        rng.rand(128)
    jpeg = tf.io.encode_jpeg(tf.fill((224, 224, 3), tf.constant(
        90, tf.uint8))).numpy()
    original = face_decoder_example.encode(
        fc7=fc7, aligned_jpeg=jpeg, landmarks=points, image_id="pairs/a.jpg",
        teacher="dlib128")
    changed = face_decoder_example.with_input_feature(original, new, "fold2")
    self.assertEqual(face_decoder_example.image_id_of(changed),
                     b"pairs/a.jpg")
    before = face_decoder_example.decode(original, "dlib128")
    after = face_decoder_example.decode(changed, "dlib128")
    self.assertAllClose(after["fc7"], new.astype(np.float32))
    self.assertNotAllClose(after["fc7"], before["fc7"])
    self.assertEqual(after["augmentation"].numpy(), b"fold2")
    for key in ("landmarks", "aligned_image", "image_id", "teacher"):
      self.assertAllEqual(after[key], before[key], msg=key)
    with self.assertRaisesRegex(ValueError, "128 values, the new one 4"):
      face_decoder_example.with_input_feature(original, new[:4], "x")

  def test_no_feature_key_outside_the_schema_package(self):
    keys = speech_face.feature_keys() + face_decoder_example.feature_keys()
    offenders = []
    for folder in ("s2f_tf", "data_prep", "experiments", "tests"):
      for root, _, files in os.walk(os.path.join(shared_data.REPO_ROOT,
                                                 folder)):
        for name in files:
          if not name.endswith(".py"):
            continue
          path = os.path.join(root, name)
          text = open(path, encoding="utf-8").read()
          for key in keys:
            if re.search(r"['\"]" + re.escape(key) + r"['\"]", text):
              offenders.append(f"{path}: {key}")
    self.assertEqual(offenders, [])


if __name__ == "__main__":
  tf.test.main()
