"""Face-decoder training: landmark MSE + texture L1 (+ identity), resumable workdir.

With --identity_weight the decoded face passes through a frozen copy of the
face teacher: VGG-Face (fc7) or, for dlib128, dlib's network in Keras on the
chip `face_chip.ChipSampler` cuts at the decoded landmarks.

`FaceDecoderTask` is the decoder's part of `training_loop`: the decoder of
`face_decoder.SPECS` built on the data's mean landmarks, the shards of
`data_prep/prepare_decoder_data.py`, the loss of `losses/face_decoder_loss`,
and image summaries (aligned target | texture target | predicted texture |
decoded image). At the end the chief exports export/face_decoder.keras
(feature -> image), the file the voice-encoder trainer loads frozen.
"""

import os

from absl import logging
import numpy as np
import tensorflow as tf

from s2f_tf import face_decoder_input
from s2f_tf import train_config
from s2f_tf import training_loop
from s2f_tf.losses import face_decoder_loss
from s2f_tf.models import dlib_resnet
from s2f_tf.models import dlib_resnet_weights
from s2f_tf.models import face_chip
from s2f_tf.models import face_decoder
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights
from tfrecords_schema import face_teacher
from tfrecords_schema import shard_summary

EXPORT_DIR = "export"
DECODER_FILE = "face_decoder.keras"
IDENTITY_TEACHERS = (face_teacher.VGG_FACE_FC7, face_teacher.DLIB128)
IMAGE_TAGS = ("faces/1_aligned_target", "faces/2_target_texture",
              "faces/3_predicted_texture", "faces/4_decoded_image")


class FaceDecoderTask(training_loop.Task):
  """The decoder's model, inputs, losses, images and export."""

  def __init__(self, config):
    super().__init__(config)
    summary = shard_summary.read_decoder_data(config.data_dir)
    self.mean_landmarks = np.asarray(summary["mean_landmarks"], np.float32)
    self.pattern = summary["pattern"]
    self.teacher = summary.get("teacher", {}).get("name",
                                                  face_teacher.VGG_FACE_FC7)
    if config.identity_weight and self.teacher not in IDENTITY_TEACHERS:
      raise ValueError(f"--identity_weight needs the face teacher's network "
                       f"({', '.join(IDENTITY_TEACHERS)}); {config.data_dir} "
                       f"was made with {self.teacher}")
    self.identity_fn = None
    self.replicas = 1

  def build_model(self, num_replicas):
    # No BN by default; Keras BN otherwise.
    self.replicas = num_replicas
    model = face_decoder.build_face_decoder(
        self.mean_landmarks, face_decoder.SPECS[self.config.decoder],
        use_batch_norm=self.config.use_batch_norm,
        feature_dim=face_teacher.get(self.teacher).dim)
    if self.config.init_decoder:
      face_decoder.copy_weights(self.config.init_decoder, model)
    return model

  def build_frozen(self):
    config = self.config
    if not config.identity_weight:
      return
    if self.teacher == face_teacher.DLIB128:
      self.identity_fn = dlib_identity_fn(self.mean_landmarks,
                                          config.dlib_resnet_weights,
                                          config.identity_jitter, config.seed)
      return
    vgg = vgg_face.build_vgg_face()
    if config.vgg_face_weights:
      vgg_face_weights.load_vgg_face_weights(vgg, config.vgg_face_weights)
    else:
      logging.warning("identity term with a RANDOM VGG-Face")
    vgg.trainable = False
    self.identity_fn = lambda outputs: vgg(vgg_face.preprocess_input(
        outputs["image"] * 255.0), training=False)["fc7"]

  def resume_at(self, step):
    # The identity term's chip jitter draws once per replica and step.
    sampler = getattr(self.identity_fn, "sampler", None)
    if sampler is not None:
      sampler.skip_draws(step * self.replicas)

  def train_dataset(self, skip_examples):
    config = self.config
    return face_decoder_input.make_dataset(
        self.pattern, self.mean_landmarks, config.batch_size, True,
        deterministic=config.deterministic, seed=config.seed,
        shuffle_buffer=config.shuffle_buffer, cache=config.cache,
        skip_examples=skip_examples, teacher=self.teacher)

  def per_example_losses(self, model, batch, training):
    outputs = tf.nest.map_structure(lambda t: tf.cast(t, tf.float32),
                                    model(batch["fc7"], training=training))
    config = self.config
    return face_decoder_loss.per_example(
        outputs, batch, self.identity_fn,
        (config.landmark_weight, config.texture_weight,
         config.identity_weight))

  def images(self, model, batch):
    outputs = model(batch["fc7"][:4], training=False)
    return dict(zip(IMAGE_TAGS, (batch["image"][:4], batch["texture"][:4],
                                 outputs["texture"], outputs["image"])))

  def finish(self, model, workdir):
    path = export(model, workdir)
    logging.info("Exported the face decoder to %s", path)


def dlib_identity_fn(mean_landmarks, weights_path="", jitter=0.0, seed=0):
  """The decoder's outputs -> dlib128 of its image: the chip dlib would cut
  at the decoded landmarks (the reference: the data's mean shape), through
  dlib's network in Keras, frozen (weights: dlib's file, '' = installed).
  Its `sampler` (jitter seeded by `seed`) is an attribute of the function."""
  network = dlib_resnet_weights.load(dlib_resnet.build(),
                                     weights_path or None)
  network.trainable = False
  sampler = face_chip.ChipSampler.from_reference(mean_landmarks,
                                                 jitter=jitter, seed=seed)

  def identity(outputs, training=True):
    chips = sampler([outputs["image"] * 255.0, outputs["landmarks"]],
                    training=training)
    return network(chips, training=False)
  identity.sampler = sampler
  return identity


def export(decoder, workdir):
  """Writes export/face_decoder.keras (feature -> image); returns its path."""
  directory = os.path.join(workdir, EXPORT_DIR)
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, DECODER_FILE)
  face_decoder.image_model(decoder).save(path)
  return path


def exported(workdir):
  """The path of the decoder a run in `workdir` exports at its end."""
  return os.path.join(workdir, EXPORT_DIR, DECODER_FILE)


def trainer(config, workdir):
  """The training loop of the face decoder described by `config`."""
  return training_loop.TrainingLoop(FaceDecoderTask(config), workdir)


def train(config, workdir):
  """Trains (or resumes) the face decoder in `workdir`; exports at the end."""
  return trainer(config, workdir).train()


def train_from_file(config_file, data_dir, workdir, train_steps=0):
  """Trains (or resumes) the decoder of a config file on `data_dir`'s faces
  (`train_steps` 0: the file's); returns the exported decoder's path."""
  config = train_config.DecoderTrainConfig.load(config_file).replace(
      data_dir=data_dir)
  if train_steps:
    config = config.replace(train_steps=train_steps)
  train(config, workdir)
  return exported(workdir)
