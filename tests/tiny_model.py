"""A tiny trained voice encoder + a random tiny face decoder, for CLI/eval tests."""

import os

import numpy as np

from s2f_tf import train_config
from s2f_tf import voice_encoder_trainer
from s2f_tf.models import face_decoder
from tests import fake_shards
from tests import shared_data


def tiny_decoder(path, **kwargs):
  """A random tiny face decoder (`build_face_decoder` kwargs, e.g.
  feature_dim) saved as an image model at `path`; returns `path`."""
  mean = np.random.RandomState(0).uniform(60, 160, (68, 2))
  decoder = face_decoder.build_face_decoder(
      mean, face_decoder.SPECS["tiny"], **kwargs)
  face_decoder.image_model(decoder).save(path)
  return path


def tiny_run(root):
  """Tiny shards, a few training steps, a tiny decoder export.

  Returns (encoder workdir, test shard pattern, decoder .keras path);
  `root` is made if missing.
  """
  os.makedirs(root, exist_ok=True)
  data = os.path.join(root, "data")
  train = fake_shards.write_shards(data, "train", 8)
  test = fake_shards.write_shards(data, "test", 12, seed=3)
  decoder_path = tiny_decoder(os.path.join(root, "face_decoder.keras"))
  config = train_config.TrainConfig.load(os.path.join(
      shared_data.REPO_ROOT, "experiments", "configs", "voice_encoder",
      "tiny.json")).replace(train_pattern=train, train_steps=2,
                            batch_size=4, eval_pattern="",
                            decoder_path=decoder_path)
  workdir = os.path.join(root, "run")
  voice_encoder_trainer.train(config, workdir)
  return workdir, test, decoder_path
