"""Face-decoder training: landmark MSE + texture L1 (+ identity), resumable workdir.

Trains `face_decoder.build_face_decoder` on the shards of
`data_prep/prepare_decoder_data.py`. The workdir holds config.json,
checkpoints/, TensorBoard summaries (losses/<name>, learning rate,
examples/s, and images: aligned target | texture target | predicted texture |
decoded image), metrics.jsonl, and export/ with the two files the voice-encoder
trainer uses: face_decoder.keras (feature -> image) and decoder_fc1000.keras.
"""

import dataclasses
import os

from absl import logging
import keras
from keras import ops
import numpy as np
import tensorflow as tf

from data_prep import prepare_decoder_data_lib
from s2f_tf import face_decoder_input
from s2f_tf import run_config
from s2f_tf import run_record
from s2f_tf.models import face_decoder
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights

EXPORT_DIR = "export"
DECODER_FILE = "face_decoder.keras"
FIRST_LAYER_FILE = "decoder_fc1000.keras"
IMAGE_TAGS = ("faces/1_aligned_target", "faces/2_target_texture",
              "faces/3_predicted_texture", "faces/4_decoded_image")


@dataclasses.dataclass
class DecoderTrainConfig(run_config.RunConfig):
  """Knobs of one face-decoder run (values chosen by s2f: WORKSPACE.md)."""

  data_dir: str = ""  # Output of prepare_decoder_data (summary.json + shards).
  batch_size: int = 8
  train_steps: int = 50_000
  learning_rate: float = 1e-4
  adam_beta1: float = 0.9
  landmark_weight: float = 1.0  # x MSE of landmarks / 224.
  texture_weight: float = 1.0  # x mean |texture - target| in [0, 1].
  identity_weight: float = 0.0  # x (1 - cos) of VGG-Face fc7; needs weights.
  vgg_face_weights: str = ""
  width_divisor: int = 1  # Divides every width (tests / demo: 8).
  use_batch_norm: bool = False  # True brings back the centre blot.
  cache: bool = False  # Keep parsed examples in memory (small data sets).
  shuffle_buffer: int = 1024
  deterministic: bool = False
  seed: int = 0
  log_every: int = 100
  image_every: int = 1000
  checkpoint_every: int = 1000
  keep_checkpoints: int = 5


def decoder_losses(outputs, batch, identity_fn=None,
                   weights=(1.0, 1.0, 0.0)):
  """{'landmark_mse', 'texture_l1', ['identity'], 'total'} batch means."""
  size = float(face_decoder.IMAGE_SIZE)
  landmark = ops.mean(ops.square((outputs["landmarks"] - batch["landmarks"])
                                 / size))
  texture = ops.mean(ops.abs(outputs["texture"] - batch["texture"]))
  terms = {"landmark_mse": landmark, "texture_l1": texture}
  total = weights[0] * landmark + weights[1] * texture
  if identity_fn is not None and weights[2]:
    predicted = identity_fn(outputs["image"])
    cosine = ops.sum(predicted * batch["fc7"], -1) / (
        ops.norm(predicted, axis=-1) * ops.norm(batch["fc7"], axis=-1) + 1e-8)
    terms["identity"] = ops.mean(1.0 - cosine)
    total = total + weights[2] * terms["identity"]
  terms["total"] = total
  return terms


class DecoderTrainer:
  """Builds the decoder, restores the newest checkpoint, trains, exports."""

  def __init__(self, config, workdir):
    self.config = config
    self.workdir = workdir
    run_record.write_config(config.to_json(), workdir)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
      tf.config.experimental.enable_op_determinism()
    summary = prepare_decoder_data_lib.load_summary(config.data_dir)
    self.mean_landmarks = np.asarray(summary["mean_landmarks"], np.float32)
    self.pattern = summary["pattern"]
    divisor = config.width_divisor
    self.decoder = face_decoder.build_face_decoder(
        self.mean_landmarks,
        texture_channels=tuple(max(4, c // divisor)
                               for c in face_decoder.TEXTURE_CHANNELS),
        landmark_hidden=max(8, face_decoder.LANDMARK_HIDDEN // divisor),
        use_batch_norm=config.use_batch_norm)
    self.optimizer = keras.optimizers.Adam(config.learning_rate,
                                           beta_1=config.adam_beta1)
    self.optimizer.build(self.decoder.trainable_variables)
    self.identity_fn = None
    if config.identity_weight:
      vgg = vgg_face.build_vgg_face()
      if config.vgg_face_weights:
        vgg_face_weights.load_vgg_face_weights(vgg, config.vgg_face_weights)
      else:
        logging.warning("identity term with a RANDOM VGG-Face")
      vgg.trainable = False
      self.identity_fn = lambda image: vgg(vgg_face.preprocess_input(
          image * 255.0), training=False)["fc7"]
    self.manager = run_record.checkpoint_manager(
        workdir, config.keep_checkpoints, model=self.decoder,
        optimizer=self.optimizer)
    self.record = run_record.RunRecord(workdir, config.batch_size)

  @property
  def step(self):
    return int(self.optimizer.iterations.numpy())

  @tf.function
  def train_step(self, batch):
    weights = (self.config.landmark_weight, self.config.texture_weight,
               self.config.identity_weight)
    with tf.GradientTape() as tape:
      outputs = self.decoder(batch["fc7"], training=True)
      terms = decoder_losses(outputs, batch, self.identity_fn, weights)
    variables = self.decoder.trainable_variables
    grads = tape.gradient(terms["total"], variables)
    self.optimizer.apply_gradients(zip(grads, variables))
    return terms

  def write_images(self, batch):
    """Image summaries: aligned target, its texture (mean shape), the
    predicted texture, the decoded (warped) image."""
    outputs = self.decoder(batch["fc7"][:4], training=False)
    panels = zip(IMAGE_TAGS, (batch["image"][:4], batch["texture"][:4],
                              outputs["texture"], outputs["image"]))
    with self.record.writer.as_default(step=self.step):
      for tag, images in panels:
        tf.summary.image(tag, tf.clip_by_value(images, 0, 1), max_outputs=4)

  def export(self):
    """Writes export/face_decoder.keras and export/decoder_fc1000.keras."""
    directory = os.path.join(self.workdir, EXPORT_DIR)
    tf.io.gfile.makedirs(directory)
    face_decoder.image_model(self.decoder).save(
        os.path.join(directory, DECODER_FILE))
    face_decoder.first_layer_model(self.decoder).save(
        os.path.join(directory, FIRST_LAYER_FILE))
    return os.path.join(directory, DECODER_FILE)

  def train(self):
    config = self.config
    ds = face_decoder_input.make_dataset(
        self.pattern, self.mean_landmarks, config.batch_size, True,
        deterministic=config.deterministic, seed=config.seed,
        shuffle_buffer=config.shuffle_buffer, cache=config.cache,
        skip_examples=self.step * config.batch_size)  # Resume continues.
    iterator = iter(ds)
    losses = {}
    while self.step < config.train_steps:
      batch = next(iterator)
      losses = self.train_step(batch)
      self.record.step_done()
      step = self.step
      run_record.check_finite(step, losses, self.manager)
      last = step == config.train_steps
      if step % config.log_every == 0 or last:
        self.record.log(step, config.train_steps, losses,
                        float(self.optimizer.learning_rate.numpy()))
      if step % config.image_every == 0 or last:
        self.write_images(batch)
      if step % config.checkpoint_every == 0 or last:
        self.manager.save(checkpoint_number=step)
    self.record.writer.flush()
    path = self.export()
    logging.info("Exported the face decoder to %s", path)
    return {k: float(v) for k, v in losses.items()}


def train(config, workdir):
  return DecoderTrainer(config, workdir).train()
