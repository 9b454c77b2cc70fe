"""summary.json beside a shard set: the contract between the shard job and readers.

The shard job writes it (`data_prep/prepare_shards_lib.write_summary`):
{'splits': {split: {'examples', 'shards', 'finished_shards', 'speakers',
'audio_hours', 'pattern'}}, 'skipped': {reason: count}, ...}. Readers use
it to learn a split's size without reading every record.
"""

import json
import os

import tensorflow as tf

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
