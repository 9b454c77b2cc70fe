"""Writes tiny speech/face shards through the schema, for pipeline and binary tests."""

import json
import os

import cv2
import numpy as np
import tensorflow as tf

from tfrecords_schema import face_decoder_example
from tfrecords_schema import face_teacher
from tfrecords_schema import shard_summary
from tfrecords_schema import speech_face


def fake_example(index, speaker, seconds, rng, fc7_shift=True,
                 teacher=face_teacher.DEFAULT, face_jpeg=None):
  """A voiced tone per speaker + noise, a random feature of `teacher`
  (shifted by the speaker number unless `fc7_shift` is False), a small face
  JPEG."""
  t = np.arange(int(seconds * 16000)) / 16000.0
  pitch = 100.0 + 40.0 * speaker
  waveform = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.01 * rng.randn(len(t))
  fc7 = np.maximum(rng.randn(face_teacher.get(teacher).dim) +
                   (speaker if fc7_shift else 0), 0).astype(np.float32)
  image = np.full((32, 32, 3), 40 * speaker % 255, np.uint8)
  jpeg = face_jpeg or cv2.imencode(".jpg", image)[1].tobytes()
  return speech_face.encode(
      waveform=waveform, sample_rate=16000, fc7=fc7,
      clip_id=f"clip{index:04d}", speaker_id=f"spk{speaker}", face_jpeg=jpeg,
      face_box=(0.2, 0.2, 0.8, 0.8), source_dataset="fake", teacher=teacher)


def write_shards(directory, split, num_examples, num_shards=2, seconds=2.5,
                 seed=0, num_speakers=3, fc7_shift=True,
                 teacher=face_teacher.DEFAULT, faces=()):
  """Writes `split`-0000i-of-0000n.tfrecord files; returns their glob.
  `faces`: JPEG bytes, speaker k's face is faces[k % len] (default: a
  flat grey square)."""
  os.makedirs(directory, exist_ok=True)
  rng = np.random.RandomState(seed)
  writers = [tf.io.TFRecordWriter(os.path.join(
      directory, f"{split}-{i:05d}-of-{num_shards:05d}.tfrecord"))
             for i in range(num_shards)]
  for index in range(num_examples):
    writers[index % num_shards].write(
        fake_example(index, index % num_speakers, seconds, rng, fc7_shift,
                     teacher, faces[index % num_speakers % len(faces)]
                     if faces else None))
  for writer in writers:
    writer.close()
  return os.path.join(directory, f"{split}-*.tfrecord")


def write_split_folder(directory, splits, **kwargs):
  """Shards of each split in `splits` ({split: (examples, seed)}; other
  `write_shards` arguments in kwargs) and the folder's summary.json with
  their patterns, as the shard job leaves them; returns `directory`."""
  patterns = {split: {"pattern": write_shards(directory, split, count,
                                              seed=seed, **kwargs)}
              for split, (count, seed) in splits.items()}
  with open(os.path.join(directory, shard_summary.SUMMARY_FILE), "w") as f:
    json.dump({"splits": patterns}, f)
  return directory


def write_decoder_data(directory, count=8, teacher=face_teacher.DEFAULT,
                       image_ids=None):
  """`count` random face-decoder examples and their summary.json (as the
  decoder data job writes them; image ids `image_ids`, default img0 ...);
  returns `directory`."""
  rng = np.random.RandomState(0)
  os.makedirs(directory)
  mean = rng.uniform(60, 160, (68, 2))
  with tf.io.TFRecordWriter(os.path.join(
      directory, "faces-00000-of-00001.tfrecord")) as writer:
    for i in range(count):
      jpeg = tf.io.encode_jpeg(tf.constant(rng.randint(
          0, 255, (224, 224, 3)), tf.uint8)).numpy()
      writer.write(face_decoder_example.encode(
          fc7=rng.rand(face_teacher.get(teacher).dim), aligned_jpeg=jpeg,
          landmarks=mean + rng.randn(68, 2),
          image_id=image_ids[i] if image_ids else f"img{i}",
          teacher=teacher))
  with open(os.path.join(directory, shard_summary.SUMMARY_FILE), "w") as f:
    json.dump({"mean_landmarks": mean.tolist(), "pattern": os.path.join(
        directory, "faces-*-of-00001.tfrecord"), "teacher": {
            "name": teacher, "dim": face_teacher.get(teacher).dim}}, f)
  return directory
