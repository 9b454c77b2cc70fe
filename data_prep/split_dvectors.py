"""A shard split's clips with their GE2E d-vectors, computed once and cached beside the shards.

The GE2E backbone is frozen, so each clip's d-vector (of the training
segment, as the trainer sees it) is a fixed function of the clip: the head
selection and the cross-fitted predictions compute it once per split and
keep it in `ge2e_dvectors_<split>.npz` in the shards folder.
"""

import os

import cv2
import numpy as np

from tfrecords_schema import face_teacher

CACHE = "ge2e_dvectors_{}.npz"  # In the shards folder, per split.


def cache_path(shards, split, cache=""):
  """The d-vector cache of `split`: `cache` (a pattern with {} for the
  split) or the shards folder's."""
  return (cache or os.path.join(shards, CACHE)).format(split)


def face_crop(example):
  """The RGB face crop of a decoded speech/face example."""
  return cv2.imdecode(np.frombuffer(example["face_jpeg"].numpy(), np.uint8),
                      cv2.IMREAD_COLOR)[..., ::-1]


def read_split(pattern, cache, segment_seconds, teacher=face_teacher.DLIB128,
               faces=True):
  """{'dvector', 'feature', 'speaker', 'clip'} (and 'face' with `faces`) of
  every clip of `pattern`; d-vectors from the file `cache` when it holds
  this split, else computed and written there ("" : not cached)."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from s2f_tf import progress
  from s2f_tf.audio import spectrogram
  from s2f_tf.models import ge2e
  from tfrecords_schema import speech_face
  # pylint: enable=g-import-not-at-top
  files = sorted(tf.io.gfile.glob(pattern))
  records = list(tf.data.TFRecordDataset(files))
  cached = None
  if cache and os.path.isfile(cache):
    with np.load(cache) as npz:
      cached = npz["dvector"] if len(npz["dvector"]) == len(records) else None
  dvector = None if cached is not None else tf.function(
      ge2e.pretrained(), input_signature=[tf.TensorSpec([1, None],
                                                        tf.float32)])
  out = {"dvector": [], "feature": [], "speaker": [], "clip": []}
  if faces:
    out["face"] = []
  bar = progress.Progress(len(records), name=f"clips of {pattern}")
  for record in records:
    example = speech_face.decode(record, teacher)
    if cached is None:
      segment = spectrogram.repeat_to_length(
          example["waveform"].numpy(), spectrogram.num_samples(
              segment_seconds))
      out["dvector"].append(dvector(segment[None]).numpy()[0])
    out["feature"].append(example["fc7"].numpy())
    out["speaker"].append(example["speaker_id"].numpy().decode())
    out["clip"].append(example["clip_id"].numpy().decode())
    if faces:
      out["face"].append(face_crop(example))
    bar.update()
  out["dvector"] = cached if cached is not None else np.stack(out["dvector"])
  out["feature"] = np.stack(out["feature"])
  if cache and cached is None:
    np.savez(cache, dvector=out["dvector"])
  return out
