"""Evaluation's prediction pass: stream a test split through an encoder, keep samples.

A pass reads every test clip once and keeps, in bounded memory, uniform
random samples (reservoir sampling) of the predicted and true features and of
the face crops. The pass splits across workers: worker i of N reads its share
of the shards (whole files when there are at least N, else every N-th
record; TFDS splits with `tfds.even_splits`) and writes its samples and its
clip count to one `.npz` file. `merge` turns the N partial samples into one
uniform sample of the whole split, exactly: it draws how many items come
from each worker from the multivariate hypergeometric distribution of the
workers' clip counts, then that many items uniformly from each partial.
Only one partial is in memory at a time.
"""

import io
import json
import os

from absl import logging
import numpy as np
import tensorflow as tf

from s2f_tf import input_pipeline
from s2f_tf import progress as progress_lib
from tfrecords_schema import face_teacher

FACE_SHAPE = (input_pipeline.FACE_IMAGE_SIZE, input_pipeline.FACE_IMAGE_SIZE,
              3)
PARTIAL_DIR = "predictions"
# Arrays of one sample, aligned: features (f_*) and face crops (i_*).
FEATURE_KEYS = ("predicted", "true", "clip_ids", "speaker_ids")
IMAGE_KEYS = ("faces", "face_predicted", "face_true", "face_speaker_ids",
              "face_clip_ids")


class Reservoir:
  """A uniform random sample of at most `size` items of a stream, kept while
  it streams (Algorithm R); size 0 keeps every item."""

  def __init__(self, size, rng):
    self.size, self.rng = size, rng
    self.items, self.positions = [], []

  def offer(self, position, item):
    if not self.size or len(self.items) < self.size:
      self.items.append(item)
      self.positions.append(position)
      return
    slot = self.rng.randint(position + 1)
    if slot < self.size:
      self.items[slot], self.positions[slot] = item, position

  def in_stream_order(self):
    return [self.items[i] for i in np.argsort(self.positions, kind="stable")]


def encoder_fn(model, network_input=input_pipeline.SPECTROGRAM):
  """The usual prediction: the encoder on the batch's spectrogram (Table 1)
  or waveform (ge2e)."""
  return lambda batch: np.asarray(model(batch[network_input], training=False))


def _stack(items, index, shape, dtype):
  if not items:
    return np.zeros((0,) + shape, dtype)
  return np.stack([item[index] for item in items]).astype(dtype)


def predict(predict_fn, pattern, segment_seconds, batch_size=8,
            max_examples=0, image_samples=1000, seed=0, feature_samples=0,
            shard=None, teacher=face_teacher.DEFAULT,
            network_input=input_pipeline.SPECTROGRAM):
  """Streams test clips through `predict_fn`; keeps uniform samples.

  Memory is bounded by the samples, not the split: predicted and true fc7
  and ids of `feature_samples` clips (0: all), and face crops, with their
  clips' features and ids, of `image_samples` clips, each sample drawn by
  reservoir sampling while streaming.

  Args:
    predict_fn: batch -> (batch, dim) predicted features.
    pattern: test shards (glob or `tfds:DIR:SPLIT`).
    segment_seconds: seconds of speech per clip.
    batch_size: clips per `predict_fn` call.
    max_examples: stop after this many clips (0: all of this shard).
    image_samples: face crops kept (0: none).
    seed: sampling seed.
    feature_samples: features kept (0: all).
    shard: (index, count): read only worker `index`'s share of `count`.
    teacher: the face teacher of the shards and the encoder (`face_teacher`).
    network_input: what the batches carry for the encoder (`input_pipeline`:
      spectrogram or waveform).

  Returns:
    {'predicted', 'true', 'clip_ids', 'speaker_ids' (the feature sample, in
    stream order), 'faces' (K, 224, 224, 3), 'face_predicted', 'face_true',
    'face_speaker_ids', 'face_clip_ids' (the image sample), 'seen'}.
  """
  ds = input_pipeline.make_dataset(
      pattern, batch_size, is_training=False, segment_seconds=segment_seconds,
      deterministic=True, repeat=False, with_images=True, with_ids=True,
      drop_remainder=False, shard=shard, teacher=teacher,
      network_input=network_input)
  rng = np.random.RandomState(seed)
  features = Reservoir(feature_samples, rng)
  images = Reservoir(image_samples, rng) if image_samples else None
  seen = 0
  total = max_examples or input_pipeline.num_examples(pattern) or 0
  if shard and not max_examples:
    total = -(-total // shard[1])  # this worker's share, roughly
  progress = progress_lib.Progress(
      total, name=f"evaluated {segment_seconds:g} s clips")
  for batch in ds:
    predicted = np.asarray(predict_fn(batch), np.float32)
    true = batch["fc7"].numpy()
    clip_ids = [c.decode() for c in batch["clip_id"].numpy()]
    speaker_ids = [s.decode() for s in batch["speaker_id"].numpy()]
    faces = batch["face_image"].numpy()
    for i in range(len(true)):
      if max_examples and seen >= max_examples:
        break
      features.offer(seen, (predicted[i], true[i], clip_ids[i],
                            speaker_ids[i]))
      if images is not None:
        images.offer(seen, (faces[i], predicted[i], true[i], speaker_ids[i],
                            clip_ids[i]))
      seen += 1
    progress.update(len(true))
    if max_examples and seen >= max_examples:
      break
  dim = face_teacher.get(teacher).dim
  kept = features.in_stream_order()
  sample = images.in_stream_order() if images is not None else []
  return {"seen": seen,
          "predicted": _stack(kept, 0, (dim,), np.float32),
          "true": _stack(kept, 1, (dim,), np.float32),
          "clip_ids": [k[2] for k in kept],
          "speaker_ids": [k[3] for k in kept],
          "faces": _stack(sample, 0, FACE_SHAPE, np.uint8),
          "face_predicted": _stack(sample, 1, (dim,), np.float32),
          "face_true": _stack(sample, 2, (dim,), np.float32),
          "face_speaker_ids": [k[3] for k in sample],
          "face_clip_ids": [k[4] for k in sample]}


def partial_path(out_dir, name, worker, num_workers):
  """Where worker `worker` of `num_workers` keeps pass `name`'s samples."""
  return os.path.join(out_dir, PARTIAL_DIR,
                      f"{name}-{worker:05d}-of-{num_workers:05d}.npz")


def _write_atomically(path, data):
  tmp = path + ".tmp"
  with tf.io.gfile.GFile(tmp, "wb") as f:
    f.write(data)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def _sidecar(path):
  return path[:-len(".npz")] + ".json"


def write_partial(path, prediction, fingerprint):
  """Writes one worker's `predict` output atomically (temp file, rename).

  The arrays go to `path` (.npz); then a small .json beside it, written
  last, says the share is finished and what it holds: the settings it was
  made with, the clips seen and the sample sizes.
  """
  tf.io.gfile.makedirs(os.path.dirname(path))
  arrays = {k: np.asarray(v, dtype=str) if isinstance(v, list) else
            np.asarray(v) for k, v in prediction.items()}
  buffer = io.BytesIO()  # zipfile needs seeks a GFile does not offer
  np.savez(buffer, **arrays)
  _write_atomically(path, buffer.getvalue())
  _write_atomically(_sidecar(path), json.dumps({
      "fingerprint": fingerprint, "seen": int(prediction["seen"]),
      "features": len(prediction["clip_ids"]),
      "images": len(prediction["face_clip_ids"])}).encode())


def _load(path):
  with tf.io.gfile.GFile(path, "rb") as f:
    data = np.load(io.BytesIO(f.read()), allow_pickle=False)
    return {k: data[k] for k in data.files}


def _summary(path):
  with tf.io.gfile.GFile(_sidecar(path)) as f:
    return json.load(f)


def partial_is_current(path, fingerprint):
  """True when `path` is finished and was made with the same settings."""
  if not tf.io.gfile.exists(_sidecar(path)):
    return False
  try:
    stored = _summary(path)["fingerprint"]
  except (OSError, ValueError, KeyError) as e:
    logging.warning("Unreadable %s (%s): predicting again.", _sidecar(path), e)
    return False
  if stored != json.loads(json.dumps(fingerprint)):
    logging.info("Partial %s was made with other settings: predicting "
                 "again.", path)
    return False
  return True


def _draw(counts, sizes, sample_size, rng):
  """Items to take from each part for a uniform sample of the union.

  counts: clips each worker saw; sizes: items in each worker's sample (a
  uniform sample of its clips, all of them when size == count).
  """
  counts = np.asarray(counts, np.int64)
  if not sample_size or counts.sum() <= sample_size:
    return np.asarray(sizes, np.int64)
  take = rng.multivariate_hypergeometric(counts, sample_size)
  if np.any(take > np.asarray(sizes)):  # a worker kept fewer than needed
    raise ValueError("a partial sample is smaller than the merged sample "
                     "needs; every worker must keep the same sample sizes")
  return take


def merge(paths, feature_samples, image_samples, seed=0):
  """Merges partial samples into `predict`'s output for the whole split.

  Items are ordered by clip id, so the result does not depend on how many
  workers made it.
  """
  heads = [(s["seen"], s["features"], s["images"])
           for s in map(_summary, paths)]  # arrays: one file at a time
  rng = np.random.default_rng(seed)
  seen = [h[0] for h in heads]
  take_features = _draw(seen, [h[1] for h in heads], feature_samples, rng)
  take_images = _draw(seen, [h[2] for h in heads], image_samples, rng)
  parts = {k: [] for k in FEATURE_KEYS + IMAGE_KEYS}
  for path, (_, n_features, n_images), k_features, k_images in zip(
      paths, heads, take_features, take_images):
    data = _load(path)
    for keys, n, k in ((FEATURE_KEYS, n_features, k_features),
                       (IMAGE_KEYS, n_images, k_images)):
      index = np.sort(rng.choice(n, size=k, replace=False))
      for key in keys:
        parts[key].append(data[key][index])
  out = {"seen": int(sum(seen))}
  for keys, id_key in ((FEATURE_KEYS, "clip_ids"),
                       (IMAGE_KEYS, "face_clip_ids")):
    joined = {key: np.concatenate(parts[key]) for key in keys}
    order = np.argsort(joined[id_key], kind="stable")
    for key in keys:
      value = joined[key][order]
      out[key] = [str(v) for v in value] if value.dtype.kind == "U" else \
          value
  return out
