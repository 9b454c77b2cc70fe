"""Files of a shard set, shared by both data jobs: names, atomic writes, totals.

A shard is `<prefix>-<index>-of-<count>.tfrecord`, written as a temp file and
renamed only when complete, after its sidecar `<shard>.json` of statistics:
a shard that exists with its sidecar is finished, so a rerun skips it. The
job's totals go to summary.json (the contract in
`tfrecords_schema/shard_summary.py`) and to TensorBoard scalars.
"""

import json
import os
import uuid

from absl import logging
import tensorflow as tf

from tfrecords_schema import shard_summary


def shard_path(output_dir, prefix, index, count):
  return os.path.join(output_dir,
                      f"{prefix}-{index:05d}-of-{count:05d}.tfrecord")


def shard_pattern(output_dir, prefix, count):
  return os.path.join(output_dir, f"{prefix}-*-of-{count:05d}.tfrecord")


def stats_path(path):
  return path + ".json"


def is_finished(path):
  return tf.io.gfile.exists(path) and tf.io.gfile.exists(stats_path(path))


def read_stats(path):
  """The sidecar statistics of a finished shard."""
  with tf.io.gfile.GFile(stats_path(path)) as f:
    return json.load(f)


def remove_stale_temps(output_dir):
  """Deletes temp files a killed run left behind (never finished shards)."""
  for stale in tf.io.gfile.glob(os.path.join(output_dir, "*.tmp*")):
    tf.io.gfile.remove(stale)


def write_shard(path, records, stats):
  """Writes serialized `records` to `path` atomically, sidecar first."""
  temp = f"{path}.tmp-{uuid.uuid4().hex}"
  with tf.io.TFRecordWriter(temp) as writer:
    for record in records:
      writer.write(record)
  with tf.io.gfile.GFile(stats_path(path) + ".tmp", "w") as f:
    f.write(json.dumps(stats, indent=1))
  tf.io.gfile.rename(stats_path(path) + ".tmp", stats_path(path),
                     overwrite=True)
  tf.io.gfile.rename(temp, path, overwrite=True)
  logging.info("wrote %s: %d examples, skipped %s", path, stats["examples"],
               stats["skipped"])


def count_skip(skipped, reason):
  skipped[reason] = skipped.get(reason, 0) + 1


def add_skips(total, skipped):
  for reason, n in skipped.items():
    total[reason] = total.get(reason, 0) + n


def write_summary(output_dir, summary):
  """Writes summary.json atomically."""
  path = os.path.join(output_dir, shard_summary.SUMMARY_FILE)
  with tf.io.gfile.GFile(path + ".tmp", "w") as f:
    f.write(json.dumps(summary, indent=2, sort_keys=True))
  tf.io.gfile.rename(path + ".tmp", path, overwrite=True)


def write_tensorboard(output_dir, scalars):
  """Writes a job's totals as scalars to output_dir/tensorboard (step 0)."""
  writer = tf.summary.create_file_writer(os.path.join(output_dir,
                                                      "tensorboard"))
  with writer.as_default(step=0):
    for name, value in scalars.items():
      tf.summary.scalar(name, value)
  writer.close()
