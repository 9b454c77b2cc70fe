"""Library of the shard job: one clip -> one example, and the Beam pipeline.

The unit of work is a shard. Pipeline: shard plans (split, index, its clip
specs; minus finished shards) -> Reshuffle -> ShardDoFn, which prepares every
clip of one shard (models loaded once per worker through an injectable
loader; every bad input a counted, logged skip) and writes the shard
atomically (temp file, then rename: a shard exists only when complete, with a
sidecar JSON of its statistics). Nothing waits on a GroupByKey, so a job
killed after days loses only the shards in flight, and a rerun with the same
flags skips the finished ones without losing or duplicating work.
"""

import dataclasses
import functools
import hashlib
import math
import os
import socket

from absl import logging
import apache_beam as beam
from apache_beam.utils import shared
import cv2
import keras
import numpy as np
import tensorflow as tf

from data_prep import shard_files
from data_prep import shard_options
from data_prep import worker_log_filter
from data_prep import worker_progress
from s2f_tf import media
from s2f_tf.audio import audio_format
from s2f_tf.faces import face_descriptor
from s2f_tf.faces import face_detector
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights
from tfrecords_schema import face_teacher
from tfrecords_schema import speech_face

SPLITS = ("train", "validation", "test")  # validation: only from a spec's own split
# Decoders lose a few ms at clip edges (a 3.0 s GRID clip decodes to 2.978 s),
# so the minimum is checked with this tolerance.
DURATION_TOLERANCE_S = 0.05
JPEG_QUALITY = 95
# Seed of the stand-in VGG-Face used without weights (demo only): every job
# that builds one must get the same network, or their fc7 spaces differ.
RANDOM_VGG_FACE_SEED = 2622


class ShardModels:
  """What one worker needs: a face detector and the teacher's extractor."""

  def __init__(self, detector, fc7_fn, teacher=face_teacher.DEFAULT):
    self.detector = detector
    # (n, 224, 224, 3) uint8 RGB -> (n, dim) float32, dim of `teacher`.
    self.fc7 = fc7_fn
    self.teacher = teacher


def load_models(detector="cnn", upsample=face_detector.DEFAULT_UPSAMPLE,
                vgg_face_weights_path="", allow_random_vgg_face=False,
                teacher=face_teacher.DEFAULT,
                crop_margin=face_detector.CROP_MARGIN):
  """The default model loader: dlib detector + the face teacher (VGG-Face
  with released weights, or dlib's 128-D descriptor in the detected box of
  crops of `crop_margin`)."""
  if face_teacher.get(teacher).name == face_teacher.DLIB128:
    return ShardModels(face_detector.FaceDetector(detector, upsample),
                       face_descriptor.DlibFaceEmbedder(
                           network="keras", crop_margin=crop_margin),
                       teacher)
  if not vgg_face_weights_path and allow_random_vgg_face:
    keras.utils.set_random_seed(RANDOM_VGG_FACE_SEED)
  model = vgg_face.build_vgg_face()
  if vgg_face_weights_path:
    vgg_face_weights.load_vgg_face_weights(model, vgg_face_weights_path)
  elif allow_random_vgg_face:
    logging.warning("VGG-Face has RANDOM weights (--allow_random_vgg_face): "
                    "the fc7 targets only exercise the pipeline.")
  else:
    raise FileNotFoundError(vgg_face_weights.DOWNLOAD_HELP.format(path=""))
  return ShardModels(face_detector.FaceDetector(detector, upsample),
                     functools.partial(vgg_face.extract_fc7, model))


def model_loader(**kwargs):
  """A picklable zero-argument loader for PrepareClipDoFn."""
  return functools.partial(load_models, **kwargs)


def _unit_hash(text):
  digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
  return int(digest[:15], 16) / float(16 ** 15)


def split_of(speaker_id, test_fraction=shard_options.TEST_FRACTION, salt="s2f"):
  """'train' or 'test', by a hash of the speaker: no speaker in both."""
  return "test" if _unit_hash(f"{salt}:{speaker_id}") < test_fraction \
      else "train"


def shard_of(clip_id, num_shards):
  return int(_unit_hash(f"shard:{clip_id}") * num_shards)


def shard_path(output_dir, split, index, num_shards):
  return shard_files.shard_path(output_dir, split, index, num_shards)


def plan(specs, options):
  """Assigns every clip to (split, shard); returns (keyed specs, num_shards).

  A spec's own split (a published one, e.g. AVSpeech's CSVs) wins over the
  speaker hash.
  """
  by_split = {split: [] for split in SPLITS}
  for spec in specs:
    split = spec.split or split_of(spec.speaker_id, options.test_fraction,
                                   options.split_salt)
    by_split[split].append(spec)
  num_shards = {split: max(1, math.ceil(len(items) /
                                        options.examples_per_shard))
                for split, items in by_split.items() if items}
  keyed = [((split, shard_of(spec.clip_id, num_shards[split])), spec)
           for split, items in by_split.items() for spec in items]
  return keyed, num_shards


def is_finished(output_dir, split, index, num_shards):
  return shard_files.is_finished(shard_path(output_dir, split, index,
                                            num_shards))


def prepare_clip(spec, models, options):
  """One ClipSpec -> (serialized example, audio seconds) or a MediaError /
  FaceError whose `reason` names the skip."""
  # Missing, empty or corrupt files: probe raises UnreadableMediaError.
  duration, has_video, has_audio = media.probe(spec.media_path)
  if not has_audio:
    raise media.NoAudioError(f"{spec.media_path}: no audio stream")
  start = spec.start_s or 0.0
  end = spec.end_s if spec.end_s is not None else duration
  if end is None:
    raise media.UnreadableMediaError(f"{spec.media_path}: unknown duration")
  waveform = media.load_audio(spec.media_path, start_s=start,
                              duration_s=min(end - start,
                                             options.max_audio_seconds))
  media.check_speech(waveform, spec.media_path,
                     min_seconds=options.min_seconds - DURATION_TOLERANCE_S)
  if spec.face_image_path:
    frame, frame_time = media.read_image(spec.face_image_path), 0.0
  else:
    if not has_video:
      raise face_detector.NoFaceError(f"{spec.media_path}: no video stream")
    frame_time = (start + end) / 2.0  # The middle frame; WORKSPACE.md.
    frame = media.read_frame(spec.media_path, frame_time)
    frame_time -= start
  box = face_detector.choose_face(models.detector.detect(frame), frame.shape,
                                  spec.face_centre, options.min_face_pixels)
  crop = face_detector.crop_face(frame, box, options.crop_margin)
  fc7 = np.asarray(models.fc7(crop[None]))[0]
  jpeg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                      [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
  serialized = speech_face.encode(
      waveform=waveform, sample_rate=audio_format.SAMPLE_RATE, fc7=fc7,
      clip_id=spec.clip_id, speaker_id=spec.speaker_id, face_jpeg=jpeg,
      face_box=face_detector.normalized_box(box, frame.shape),
      teacher=options.teacher,
      frame_time_s=frame_time, source_path=spec.media_path,
      source_dataset=spec.dataset, start_s=start, end_s=end)
  return serialized, len(waveform) / float(audio_format.SAMPLE_RATE)


class ShardDoFn(beam.DoFn):
  """(split, index, specs) -> one shard prepared and written; yields its stats."""

  def __init__(self, loader, options, num_shards):
    self._loader = loader
    self._shared_models = shared.Shared()
    self._options = options
    self._num_shards = num_shards
    self._examples = beam.metrics.Metrics.counter("s2f", "examples")
    self._shards = beam.metrics.Metrics.counter("s2f", "shards_written")
    self._skips = {}

  def setup(self):
    # One set of models per worker process, however many DoFn instances the
    # runner makes (DaskRunner makes one per partition, i.e. per shard).
    self._models = self._shared_models.acquire(self._loader)
    face_teacher.check_same(self._options.teacher, self._models.teacher,
                            "The shard job's feature extractor")
    # The main process prints one line for every worker (worker_progress).
    self._counter = worker_progress.WorkerCounter(self._options.output_dir)

  def _skip(self, reason):
    if reason not in self._skips:
      self._skips[reason] = beam.metrics.Metrics.counter(
          "s2f", f"skipped_{reason}")
    self._skips[reason].inc()

  def _prepare(self, spec):
    """('example', id, speaker, bytes, seconds) or ('skip', id, speaker,
    reason, 0.0); never raises on data."""
    try:
      serialized, seconds = prepare_clip(spec, self._models, self._options)
      self._examples.inc()
      return ("example", spec.clip_id, spec.speaker_id, serialized, seconds)
    except (media.MediaError, face_detector.FaceError) as e:
      logging.info("skip %s (%s): %s", spec.clip_id, e.reason, e)
      reason = e.reason
    except Exception as e:  # pylint: disable=broad-except
      logging.exception("skip %s (error): unexpected %r", spec.clip_id, e)
      reason = "error"
    self._skip(reason)
    return ("skip", spec.clip_id, spec.speaker_id, reason, 0.0)

  def process(self, element):
    split, index, specs = element
    count = self._num_shards[split]
    if is_finished(self._options.output_dir, split, index, count):
      return  # a retried or duplicated bundle: the shard is already there
    records = []
    for spec in sorted(specs, key=lambda s: s.clip_id):
      records.append(self._prepare(spec))
      self._counter.add()
    stats = write_shard(self._options.output_dir, split, index, count,
                        records)
    self._counter.flush()
    self._shards.inc()
    yield stats


def write_shard(output_dir, split, index, num_shards, records):
  """Writes one shard atomically (shard_files.write_shard); returns its stats."""
  examples = [r for r in records if r[0] == "example"]
  skipped = {}
  for r in records:
    if r[0] == "skip":
      shard_files.count_skip(skipped, r[3])
  stats = {"split": split, "shard": index, "examples": len(examples),
           "skipped": skipped,
           "worker": f"{socket.gethostname()}:{os.getpid()}",
           "speakers": sorted({r[2] for r in examples}),
           "audio_seconds": sum(r[4] for r in examples)}
  shard_files.write_shard(shard_path(output_dir, split, index, num_shards),
                          [r[3] for r in examples], stats)
  return stats


def write_summary(output_dir, num_shards, options, pending):
  """Aggregates every finished shard's sidecar into summary.json."""
  teacher = face_teacher.get(options.teacher)
  summary = {"schema_version": speech_face.SCHEMA_VERSION,
             "teacher": {"name": teacher.name, "dim": teacher.dim},
             "options": dataclasses.asdict(options),
             "clips_processed_this_run": pending, "splits": {},
             "skipped": {}}
  for split, count in num_shards.items():
    examples, seconds, speakers, finished = 0, 0.0, set(), 0
    for index in range(count):
      path = shard_path(output_dir, split, index, count)
      if not shard_files.is_finished(path):
        continue
      finished += 1
      stats = shard_files.read_stats(path)
      examples += stats["examples"]
      seconds += stats["audio_seconds"]
      speakers.update(stats["speakers"])
      shard_files.add_skips(summary["skipped"], stats["skipped"])
    summary["splits"][split] = {
        "examples": examples, "shards": count, "finished_shards": finished,
        "speakers": len(speakers), "audio_hours": seconds / 3600.0,
        "pattern": shard_files.shard_pattern(output_dir, split, count)}
  shard_files.write_summary(output_dir, summary)
  if all(stats["finished_shards"] == stats["shards"]
         for stats in summary["splits"].values()):
    write_tfds_metadata(output_dir, num_shards, options.teacher)
  scalars = {f"shards/skipped_{reason}": n
             for reason, n in summary["skipped"].items()}
  for split, stats in summary["splits"].items():
    for name in ("examples", "speakers", "audio_hours"):
      scalars[f"shards/{split}_{name}"] = stats[name]
  shard_files.write_tensorboard(output_dir, scalars)
  return summary


TFDS_FILENAME_TEMPLATE = "{SPLIT}-{SHARD_X_OF_Y}.tfrecord"  # = shard_path
TFDS_NAME = "s2f_speech_face"


def write_tfds_metadata(output_dir, num_shards,
                        teacher=face_teacher.DEFAULT):
  """dataset_info.json + features.json beside finished shards, so that
  `tfds.builder_from_directory(output_dir)` reads them (splits, slicing,
  feature description). Shard lengths come from the sidecars."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  template = tfds.core.ShardedFileTemplate(
      data_dir=tfds.core.Path(output_dir), template=TFDS_FILENAME_TEMPLATE,
      dataset_name=TFDS_NAME, filetype_suffix="tfrecord")
  split_infos = []
  for split, count in sorted(num_shards.items()):
    lengths, size = [], 0
    for index in range(count):
      path = shard_path(output_dir, split, index, count)
      lengths.append(shard_files.read_stats(path)["examples"])
      size += tf.io.gfile.stat(path).length
    split_infos.append(tfds.core.SplitInfo(
        name=split, shard_lengths=lengths, num_bytes=size,
        filename_template=template.replace(split=split)))
  tfds.folder_dataset.write_metadata(
      data_dir=output_dir, features=speech_face.tfds_features(teacher),
      split_infos=split_infos, filename_template=template,
      check_data=False,
      description="Speech2Face pairs written by s2f-prepare-shards: 16 kHz "
      "int16 speech and the speaker's face feature by the face teacher "
      f"{teacher} ({face_teacher.get(teacher).dim}-D).")


def _runner(pipeline_options):
  """Beam's in-process FnApiRunner for the default DirectRunner.

  Beam 2.77's DirectRunner first tries its Prism runner, which downloads a
  binary at run time; s2f never downloads, so the local default runs the
  in-process runner DirectRunner falls back to. DaskRunner (apache-beam[dask];
  `--dask_client_address=tcp://HOST:8786`) is built here because Beam does
  not resolve it by name. Other runners are unchanged.
  """
  name = None
  if pipeline_options is not None:
    name = pipeline_options.view_as(
        beam.options.pipeline_options.StandardOptions).runner
  if name in (None, "DirectRunner", "direct"):
    from apache_beam.runners.portability.fn_api_runner import fn_runner  # pylint: disable=g-import-not-at-top
    return fn_runner.FnApiRunner()
  if name in ("DaskRunner", "dask"):  # not in Beam's table of runner names
    from apache_beam.runners.dask import dask_runner  # pylint: disable=g-import-not-at-top
    return dask_runner.DaskRunner()
  return None


def _one_shard_per_dask_partition(pipeline_options):
  """Beam's DaskRunner packs up to 128 elements into one dask.Bag partition,
  and a partition runs on one worker: a job of fewer than 128 shards would
  run on a single worker. A shard is already a big unit of work (~1,000
  clips), so each gets its own partition unless the user chose
  --dask_npartitions or --dask_partition_size."""
  values = pipeline_options.get_all_options(drop_default=True,
                                            retain_unknown_options=True)
  if values.get("npartitions") or values.get("partition_size"):
    return pipeline_options
  return beam.options.pipeline_options.PipelineOptions(
      **dict(values, partition_size=1))


def local_options(workers):
  """Beam options for `workers` processes on this machine (1: in-process)."""
  if workers <= 1:
    return None
  return beam.options.pipeline_options.PipelineOptions(
      direct_num_workers=workers, direct_running_mode="multi_processing",
      default_sdk_harness_log_level="WARNING")


def run(specs, options, loader, pipeline_options=None):
  """Runs the shard job over `specs`; returns the summary dict.

  Args:
    specs: ClipSpecs from `clip_sources`.
    options: shard_options.ShardOptions.
    loader: zero-argument callable returning ShardModels, called once per
      worker (tests pass fakes).
    pipeline_options: beam PipelineOptions (default: in-process runner).
  """
  tf.io.gfile.makedirs(options.output_dir)
  shard_files.remove_stale_temps(options.output_dir)
  keyed, num_shards = plan(specs, options)
  by_shard = {}
  for key, spec in keyed:
    if not is_finished(options.output_dir, key[0], key[1],
                       num_shards[key[0]]):
      by_shard.setdefault(key, []).append(spec)
  shards = [(split, index, items)
            for (split, index), items in sorted(by_shard.items())]
  pending = sum(len(items) for _, _, items in shards)
  logging.info("%d clips in %s shards; %d clips in %d unfinished shards to "
               "do", len(keyed), num_shards, pending, len(shards))
  if shards:
    runner = _runner(pipeline_options)
    if runner is not None and type(runner).__name__ == "DaskRunner":
      pipeline_options = _one_shard_per_dask_partition(pipeline_options)
    # Beam's local worker processes log at INFO whatever the verbosity.
    with worker_log_filter.drop_info_lines(
        logging.get_verbosity() < logging.INFO), \
        worker_progress.Watcher(options.output_dir, pending), \
        beam.Pipeline(runner=runner, options=pipeline_options) as pipeline:
      _ = (pipeline
           | "Shards" >> beam.Create(shards)
           | "Spread" >> beam.Reshuffle()
           | "PrepareAndWrite" >> beam.ParDo(ShardDoFn(
               loader, options, num_shards)))
  return write_summary(options.output_dir, num_shards, options, pending)
