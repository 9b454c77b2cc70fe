"""Cross-fitted predictions of the training clips' features: each clip predicted by GE2E heads that never heard its speaker.

The decoder's fine-tuning data (`fine_tune_data`) pair each training
clip's frame with what a voice head predicts for it. A head trained on
every clip would predict its own training clips too well; here the
training speakers are dealt to folds and each fold's clips are predicted
by a head trained on the other folds (a new initialisation and batch order
per seed and fold): what a head trained on every clip gives for a new
speaker, for clips whose true face is known. Only the shards' `train`
split is read.
"""

import json
import os

import numpy as np

from data_prep import split_dvectors
from tfrecords_schema import face_teacher


def speaker_folds(speakers, folds, seed=0):
  """Fold index of each clip: speakers dealt to `folds` folds in a seeded
  random order, every clip of a speaker in its speaker's fold."""
  unique = sorted(set(speakers))
  np.random.RandomState(seed).shuffle(unique)
  fold_of = {speaker: i % folds for i, speaker in enumerate(unique)}
  return np.array([fold_of[s] for s in speakers], np.int64)


def cross_fitted(x, y, speakers, choice, decoder_fc, folds=5, seeds=1,
                 batch_size=32, teacher=face_teacher.DLIB128):
  """[seeds, clips, dim] predictions of features `y` from d-vectors `x` by
  heads of `choice` (the head selection's width, rate and steps) that never
  saw the clip's speaker."""
  from s2f_tf import dvector_head_trainer  # pylint: disable=g-import-not-at-top
  fold = speaker_folds(speakers, folds)
  steps = int(choice["train_steps"])
  out = np.zeros((seeds,) + y.shape, np.float32)
  for seed in range(seeds):
    for k in range(folds):
      held = fold == k
      out[seed, held] = dvector_head_trainer.train_head(
          x[~held], y[~held], int(choice["head_hidden"]),
          float(choice["learning_rate"]), [steps], decoder_fc,
          lambda head, held=held: np.asarray(head(x[held])), batch_size,
          seed * folds + k, teacher)[steps]
  return out


def predictions(shards, decoder_path, choice, folds=5, seeds=1, cache="",
                teacher=face_teacher.DLIB128):
  """{clip id: [seeds, dim]} of `cross_fitted` for the shards' `train`
  split (the validation and test splits are not read)."""
  # pylint: disable=g-import-not-at-top
  from s2f_tf import frozen_heads
  from s2f_tf.audio import audio_format
  # pylint: enable=g-import-not-at-top
  with open(os.path.join(shards, "summary.json")) as f:
    pattern = json.load(f)["splits"]["train"]["pattern"]
  fit = split_dvectors.read_split(
      pattern, split_dvectors.cache_path(shards, "train", cache),
      audio_format.CLIP_SECONDS, teacher, faces=False)
  decoder_fc, _ = frozen_heads.load_face_decoder(decoder_path,
                                                 teacher=teacher)
  predicted = cross_fitted(fit["dvector"], fit["feature"], fit["speaker"],
                           choice, decoder_fc, folds, seeds, teacher=teacher)
  return {clip: predicted[:, i] for i, clip in enumerate(fit["clip"])}
