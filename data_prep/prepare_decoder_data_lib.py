"""Library of the face-decoder data job: face photos -> aligned faces + fc7 shards.

For every image: dlib CNN detection (no face / several faces / tiny face are
counted skips; none for photos under `aligned_dirs`, already aligned face
chips whose face box is `ALIGNED_CROP_BOX`), 68 landmarks, a similarity
alignment to the canonical frame (`frame`: the paper's by default), the
person put on a plain white background like the paper's faces
(`background`; MediaPipe's selfie segmentation, `person_segmenter`), and
the teacher's feature of the same 224 x 224 crop of the photo (its own
background kept) the shard job makes. With
`flips`, the mirrored face is a second example. Examples go to shards written
atomically (temp name, then rename); summary.json holds the mean landmarks
the decoder is built with, and the skip counts. A rerun skips finished shards.
"""

from concurrent import futures
import dataclasses
import math
import multiprocessing
import os

from absl import logging
import cv2
import numpy as np
import tensorflow as tf

from data_prep import prepare_shards_lib
from data_prep import shard_files
from s2f_tf import media
from s2f_tf import progress as progress_lib
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.faces import person_segmenter
from tfrecords_schema import face_decoder_example
from tfrecords_schema import face_teacher

EXAMPLES_PER_SHARD = 1000
TEACHER_BATCH = 32  # Photos whose crops the teacher reads in one call.
# The face box of an aligned face chip (UTKFace's "aligned & cropped"
# 200 x 200 faces), as fractions (left, top, right, bottom) of its sides:
# the median of dlib HOG's boxes on 349 of 400 UTKFace chips (the other 51
# had none; WORKSPACE.md, "The decoder-data job, 3x").
ALIGNED_CROP_BOX = (0.075, 0.075, 0.97, 0.97)


@dataclasses.dataclass(frozen=True)
class DecoderDataOptions:
  output_dir: str
  flips: bool = True
  examples_per_shard: int = EXAMPLES_PER_SHARD
  crop_margin: float = face_detector.CROP_MARGIN
  min_face_pixels: int = face_detector.MIN_FACE_PIXELS
  teacher: str = face_teacher.DEFAULT  # The decoder's input feature.
  # Subfolders of the photo folder holding aligned face chips: no detection,
  # the face box is ALIGNED_CROP_BOX.
  aligned_dirs: tuple = ()
  frame: str = landmarks_lib.DEFAULT_FRAME  # landmarks.FRAMES
  background: str = person_segmenter.DEFAULT_BACKGROUND

  def __post_init__(self):
    if self.background not in person_segmenter.BACKGROUNDS:
      raise ValueError(f"background must be one of "
                       f"{', '.join(person_segmenter.BACKGROUNDS)}, not "
                       f"{self.background!r}")
    if self.frame not in landmarks_lib.FRAMES:
      raise ValueError(f"frame must be one of "
                       f"{', '.join(landmarks_lib.FRAMES)}, not "
                       f"{self.frame!r}")


class DecoderDataModels:
  """Detector, landmark predictor, the teacher's extractor and the person
  segmenter (needed for the white background only), injected for tests."""

  def __init__(self, detector, landmark_detector, fc7_fn,
               teacher=face_teacher.DEFAULT, segmenter=None):
    self.detector = detector
    self.landmarks = landmark_detector
    self.fc7 = fc7_fn
    self.teacher = teacher
    self.segmenter = segmenter


def load_models(detector="cnn", upsample=face_detector.DEFAULT_UPSAMPLE,
                vgg_face_weights_path="", allow_random_vgg_face=False,
                teacher=face_teacher.DEFAULT):
  shard_models = prepare_shards_lib.load_models(
      detector, upsample, vgg_face_weights_path, allow_random_vgg_face,
      teacher)
  return DecoderDataModels(shard_models.detector,
                           landmarks_lib.LandmarkDetector(), shard_models.fc7,
                           teacher, person_segmenter.PersonSegmenter())


def list_images(root):
  """Every image under `root`, linked folders followed (the real-pairs job
  links `--extra_faces` into its photo folder), in a fixed order."""
  paths = []
  for directory, _, names in sorted(os.walk(root, followlinks=True)):
    paths += [os.path.join(directory, n) for n in sorted(names)
              if n.lower().endswith(media.IMAGE_EXTENSIONS)]
  return paths


def _jpeg(rgb):
  return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                      [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def _faces(path, image_id, models, options):
  """One photo -> its aligned face(s) (and mirror image): a list of
  (image id, augmentation, aligned image, aligned landmarks, teacher crop).
  Raises MediaError or FaceError."""
  rgb = media.read_image(path)
  if image_id.split(os.sep)[0] in options.aligned_dirs:
    height, width = rgb.shape[:2]
    left, top, right, bottom = ALIGNED_CROP_BOX
    box = face_detector.Box(left * width, top * height, right * width,
                            bottom * height, 1.0)
  else:
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
  faces = []
  for augmentation, image, face_box, face_points in variants:
    aligned, aligned_points, inside = landmarks_lib.align(
        image, face_points, frame=options.frame)
    if options.background == "white":
      # Outside the photo is background too, whatever the border holds;
      # the photo's edge fades into it.
      aligned = person_segmenter.on_background(
          aligned, models.segmenter(aligned) *
          person_segmenter.faded_edges(inside))
    faces.append((image_id + (f":{augmentation}" if augmentation else ""),
                  augmentation, aligned, aligned_points,
                  face_detector.crop_face(image, face_box,
                                          options.crop_margin)))
  return faces


def prepare_images(items, models, options, skipped):
  """Photos [(path, image id)] -> [(serialized example, aligned landmarks)];
  a photo that gives no usable face is a counted skip in `skipped`. The
  teacher reads the photos' crops together (one batched call)."""
  faces = []
  for path, image_id in items:
    try:
      faces += [(path,) + face for face in _faces(path, image_id, models,
                                                  options)]
    except (media.MediaError, face_detector.FaceError) as e:
      logging.info("skip %s (%s): %s", path, e.reason, e)
      shard_files.count_skip(skipped, e.reason)
  if not faces:
    return []
  features = np.asarray(models.fc7(np.stack([face[-1] for face in faces])))
  return [(face_decoder_example.encode(
      fc7=feature, aligned_jpeg=_jpeg(aligned), landmarks=aligned_points,
      image_id=face_id, augmentation=augmentation, source_path=path,
      teacher=options.teacher), aligned_points)
          for (path, face_id, augmentation, aligned, aligned_points, _),
          feature in zip(faces, features)]


SHARD_PREFIX = "faces"


def run(image_root, options, loader, workers=1):
  """Prepares every image under `image_root`; returns the summary dict.

  `workers` > 1 prepares shards in that many processes (each loads its own
  models; `loader` must then be picklable, e.g. a functools.partial of
  `load_models`).
  """
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
  pending = [(index, group) for index, group in enumerate(groups)
             if not shard_files.is_finished(shard_files.shard_path(
                 options.output_dir, SHARD_PREFIX, index, count))]
  progress = progress_lib.Progress(
      len(paths), name="images",
      resumed=len(paths) - sum(len(g) for _, g in pending))
  if workers > 1 and len(pending) > 1:
    # A worker that dies (or fails to load its models) breaks the pool with
    # an error instead of being restarted for ever.
    with futures.ProcessPoolExecutor(
        min(workers, len(pending)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_load_models, initargs=(loader, options)) as pool:
      jobs = [pool.submit(_pool_job, index, group, count, options)
              for index, group in pending]
      for job in futures.as_completed(jobs):
        progress.update(job.result())
  elif pending:
    models = _checked(loader(), options)
    for index, group in pending:
      progress.update(_write_shard(index, group, count, options, models))
  return write_summary(options, count)


def _checked(models, options):
  face_teacher.check_same(options.teacher, models.teacher,
                          "The decoder-data job's feature extractor")
  if options.background == "white" and models.segmenter is None:
    raise ValueError("the white background needs a person segmenter in the "
                     "decoder-data models")
  return models


_POOL_MODELS = []  # a pool process's models, loaded once by _load_models


def _load_models(loader, options):
  _POOL_MODELS.append(_checked(loader(), options))


def _pool_job(index, group, count, options):
  return _write_shard(index, group, count, options, _POOL_MODELS[0])


def _write_shard(index, group, count, options, models):
  """Prepares and writes one shard; returns how many images it read."""
  records, skipped, landmark_sum = [], {}, np.zeros((68, 2))
  for start in range(0, len(group), TEACHER_BATCH):
    for serialized, points in prepare_images(
        group[start:start + TEACHER_BATCH], models, options, skipped):
      records.append(serialized)
      landmark_sum += points
  shard_files.write_shard(
      shard_files.shard_path(options.output_dir, SHARD_PREFIX, index, count),
      records, {"examples": len(records), "skipped": skipped,
                "landmark_sum": landmark_sum.tolist()})
  return len(group)


def write_summary(options, count):
  total, skipped, landmark_sum = 0, {}, np.zeros((68, 2))
  for index in range(count):
    path = shard_files.shard_path(options.output_dir, SHARD_PREFIX, index,
                                  count)
    if not shard_files.is_finished(path):
      continue
    stats = shard_files.read_stats(path)
    total += stats["examples"]
    landmark_sum += np.asarray(stats["landmark_sum"])
    shard_files.add_skips(skipped, stats["skipped"])
  teacher = face_teacher.get(options.teacher)
  summary = {
      "schema_version": face_decoder_example.SCHEMA_VERSION,
      "teacher": {"name": teacher.name, "dim": teacher.dim},
      "examples": total, "skipped": skipped, "shards": count,
      "pattern": shard_files.shard_pattern(options.output_dir, SHARD_PREFIX,
                                           count),
      "mean_landmarks": (landmark_sum / max(total, 1)).tolist(),
      "options": dataclasses.asdict(options)}
  shard_files.write_summary(options.output_dir, summary)
  shard_files.write_tensorboard(options.output_dir, {
      "decoder_data/examples": total,
      **{f"decoder_data/skipped_{r}": n for r, n in skipped.items()}})
  return summary
