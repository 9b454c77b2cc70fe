"""summary.json beside a shard set: the contract between the data jobs and readers.

The speech/face shard job writes {'splits': {split: {'examples', 'shards',
'finished_shards', 'speakers', 'audio_hours', 'pattern'}}, 'skipped':
{reason: count}, ...}; readers learn a split's size without reading every
record. The face-decoder data job writes {'examples', 'shards', 'pattern',
'mean_landmarks' (68 x 2, the decoder's mean shape), 'skipped', ...}.
Both record the face teacher as 'teacher': {'name', 'dim'}, and both are
written by `data_prep/shard_files.write_summary`.
"""

import json
import os

import tensorflow as tf

from tfrecords_schema import face_teacher

SUMMARY_FILE = "summary.json"


def read(directory):
  """The summary dict in `directory`, or None when there is none."""
  path = os.path.join(directory, SUMMARY_FILE)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def examples_matching(file_pattern):
  """Examples in the complete split whose shards are exactly `file_pattern`'s.

  None when no summary.json lies beside the shards, the job is unfinished,
  or the pattern selects anything but one whole split.
  """
  summary = read(os.path.dirname(file_pattern))
  if summary is None:
    return None
  files = set(tf.io.gfile.glob(file_pattern))
  for stats in summary.get("splits", {}).values():
    if (stats.get("finished_shards") == stats.get("shards") and files and
        files == set(tf.io.gfile.glob(stats["pattern"]))):
      return int(stats["examples"])
  return None


def read_decoder_data(data_dir):
  """The face-decoder data summary of `data_dir`; FileNotFoundError naming
  the job to run when there is none."""
  summary = read(data_dir)
  if summary is None or "mean_landmarks" not in summary:
    raise FileNotFoundError(
        f"{data_dir} holds no face-decoder data (no summary.json with "
        "mean_landmarks): run s2f-prepare-decoder-data first")
  return summary


def check_teacher(files, teacher, teacher_of_record, what):
  """Raises TeacherMismatchError unless the shards `files` hold features of
  `teacher`: by their summary.json when there is one, else by the first
  record (`teacher_of_record` of the record's schema). Shards of schema 1
  (before teachers were named) cannot be read: a ValueError says to remake
  them."""
  if not files:
    return
  summary = read(os.path.dirname(files[0]))
  if summary is not None and "splits" not in summary and \
      "mean_landmarks" not in summary:
    summary = None
  if summary is not None:
    found = summary.get("teacher", {}).get("name")
  else:
    found = None
    for record in tf.data.TFRecordDataset(files[:1]).take(1):
      found = teacher_of_record(record)
  where = f"{what} {os.path.dirname(files[0]) or '.'}"
  if found is None:
    raise ValueError(f"{where} was written by an older s2f (schema 1, no "
                     "named face teacher): rerun the job that made it")
  face_teacher.check_same(teacher, found, where)
