"""Library of the face-decoder data job: face photos -> aligned faces + fc7 shards.

For every image: dlib CNN detection (no face / several faces / tiny face are
counted skips), 68 landmarks, a similarity alignment to the canonical frame,
and the VGG-Face fc7 of the same 224 x 224 crop the shard job makes. With
`flips`, the mirrored face is a second example. Examples go to shards written
atomically (temp name, then rename); summary.json holds the mean landmarks
the decoder is built with, and the skip counts. A rerun skips finished shards.
"""

import dataclasses
import json
import math
import os
import uuid

from absl import logging
import cv2
import numpy as np
import tensorflow as tf

from data_prep import prepare_shards_lib
from s2f_tf import progress as progress_lib
from s2f_tf.audio import media
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.faces import video
from tfrecords_schema import face_decoder_example

SUMMARY_FILE = "summary.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
EXAMPLES_PER_SHARD = 1000


@dataclasses.dataclass(frozen=True)
class DecoderDataOptions:
  output_dir: str
  flips: bool = True
  examples_per_shard: int = EXAMPLES_PER_SHARD
  crop_margin: float = face_detector.CROP_MARGIN
  min_face_pixels: int = face_detector.MIN_FACE_PIXELS


class DecoderDataModels:
  """Detector, landmark predictor and fc7 extractor, injected for tests."""

  def __init__(self, detector, landmark_detector, fc7_fn):
    self.detector = detector
    self.landmarks = landmark_detector
    self.fc7 = fc7_fn


def load_models(detector="cnn", upsample=face_detector.DEFAULT_UPSAMPLE,
                vgg_face_weights_path="", allow_random_vgg_face=False):
  shard_models = prepare_shards_lib.load_models(
      detector, upsample, vgg_face_weights_path, allow_random_vgg_face)
  return DecoderDataModels(shard_models.detector,
                           landmarks_lib.LandmarkDetector(), shard_models.fc7)


def list_images(root):
  paths = []
  for directory, _, names in sorted(os.walk(root)):
    paths += [os.path.join(directory, n) for n in sorted(names)
              if n.lower().endswith(IMAGE_EXTENSIONS)]
  return paths


def _jpeg(rgb):
  return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                      [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def prepare_image(path, image_id, models, options):
  """One photo -> list of (serialized example, aligned landmarks)."""
  rgb = video.read_image(path)
  box = face_detector.choose_face(models.detector.detect(rgb), rgb.shape,
                                  None, options.min_face_pixels)
  points = models.landmarks(rgb, box)
  variants = [("", rgb, box, points)]
  if options.flips:
    flipped, flipped_points = landmarks_lib.flip(rgb, points)
    width = rgb.shape[1]
    flipped_box = face_detector.Box(width - 1 - box.right, box.top,
                                    width - 1 - box.left, box.bottom,
                                    box.score)
    variants.append(("flip", flipped, flipped_box, flipped_points))
  results = []
  for augmentation, image, face_box, face_points in variants:
    aligned, aligned_points = landmarks_lib.align(image, face_points)
    crop = face_detector.crop_face(image, face_box, options.crop_margin)
    fc7 = np.asarray(models.fc7(crop[None]))[0]
    results.append((face_decoder_example.encode(
        fc7=fc7, aligned_jpeg=_jpeg(aligned), landmarks=aligned_points,
        image_id=image_id + (f":{augmentation}" if augmentation else ""),
        augmentation=augmentation, source_path=path), aligned_points))
  return results


def _shard_path(output_dir, index, count):
  return os.path.join(output_dir, f"faces-{index:05d}-of-{count:05d}.tfrecord")


def run(image_root, options, loader):
  """Prepares every image under `image_root`; returns the summary dict."""
  tf.io.gfile.makedirs(options.output_dir)
  paths = list_images(image_root)
  per_image = 2 if options.flips else 1
  count = max(1, math.ceil(len(paths) * per_image /
                           options.examples_per_shard))
  groups = [[] for _ in range(count)]
  for path in paths:
    image_id = os.path.relpath(path, image_root)
    groups[prepare_shards_lib.shard_of(image_id, count)].append(
        (path, image_id))
  models = None
  progress = progress_lib.Progress(len(paths), name="images")
  for index, group in enumerate(groups):
    final = _shard_path(options.output_dir, index, count)
    if tf.io.gfile.exists(final) and tf.io.gfile.exists(final + ".json"):
      progress.update(len(group))
      continue
    models = models or loader()
    stats = {"examples": 0, "skipped": {}}
    landmark_sum = np.zeros((68, 2))
    temp = f"{final}.tmp-{uuid.uuid4().hex}"
    with tf.io.TFRecordWriter(temp) as writer:
      for path, image_id in group:
        try:
          for serialized, points in prepare_image(path, image_id, models,
                                                  options):
            writer.write(serialized)
            landmark_sum += points
            stats["examples"] += 1
        except (media.MediaError, face_detector.FaceError) as e:
          logging.info("skip %s (%s): %s", path, e.reason, e)
          stats["skipped"][e.reason] = stats["skipped"].get(e.reason, 0) + 1
        progress.update()
    stats["landmark_sum"] = landmark_sum.tolist()
    with tf.io.gfile.GFile(final + ".json", "w") as f:
      f.write(json.dumps(stats))
    tf.io.gfile.rename(temp, final, overwrite=True)
  return write_summary(options, count)


def write_summary(options, count):
  total, skipped, landmark_sum = 0, {}, np.zeros((68, 2))
  for index in range(count):
    path = _shard_path(options.output_dir, index, count) + ".json"
    if not tf.io.gfile.exists(path):
      continue
    with tf.io.gfile.GFile(path) as f:
      stats = json.load(f)
    total += stats["examples"]
    landmark_sum += np.asarray(stats["landmark_sum"])
    for reason, n in stats["skipped"].items():
      skipped[reason] = skipped.get(reason, 0) + n
  summary = {
      "schema_version": face_decoder_example.SCHEMA_VERSION,
      "examples": total, "skipped": skipped, "shards": count,
      "pattern": os.path.join(options.output_dir,
                              f"faces-*-of-{count:05d}.tfrecord"),
      "mean_landmarks": (landmark_sum / max(total, 1)).tolist(),
      "options": dataclasses.asdict(options)}
  with tf.io.gfile.GFile(os.path.join(options.output_dir, SUMMARY_FILE),
                         "w") as f:
    f.write(json.dumps(summary, indent=1))
  prepare_shards_lib.write_tensorboard(options.output_dir, {
      "decoder_data/examples": total,
      **{f"decoder_data/skipped_{r}": n for r, n in skipped.items()}})
  return summary


def load_summary(data_dir):
  with tf.io.gfile.GFile(os.path.join(data_dir, SUMMARY_FILE)) as f:
    return json.load(f)
