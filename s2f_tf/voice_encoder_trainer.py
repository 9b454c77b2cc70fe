"""Voice-encoder training (Sec. 3.2, 4): Table 1 trained with Eq. 1 against frozen heads.

`VoiceEncoderTask` is the encoder's part of `training_loop`: the Table 1
encoder (synchronised BN when there is more than one replica), the speech /
face shards through `input_pipeline`, Eq. 1 against the frozen f_dec (the
face decoder's first layer) and VGG-Face fc8, and image summaries of the
true face next to the decoder's faces from the true and the predicted
feature. `train(config, workdir)` trains or resumes a run.
"""

from absl import logging
import numpy as np
import tensorflow as tf

from s2f_tf import frozen_heads
from s2f_tf import input_pipeline
from s2f_tf import training_loop
from s2f_tf.losses import speech2face_loss
from s2f_tf.models import voice_encoder
from tfrecords_schema import face_teacher

# TensorBoard image tags, one per panel.
IMAGE_TAGS = ("faces/1_true_face", "faces/2_decoded_from_true_fc7",
              "faces/3_decoded_from_speech")


def count_examples(file_pattern):
  """Number of records in the shards matching `file_pattern` (one full read)."""
  files = tf.io.gfile.glob(file_pattern)
  ds = tf.data.TFRecordDataset(files).ignore_errors()
  return int(ds.reduce(np.int64(0), lambda n, _: n + 1))


def total_steps(config):
  """--train_steps, else epochs x examples / batch (Sec. 4: 637,500 steps).

  Examples come from TFDS split sizes (`tfds:DIR:SPLIT`) or the shard
  job's summary.json when the pattern is one whole split of it; otherwise
  every record is counted (one full read).
  """
  if config.train_steps:
    return config.train_steps
  examples = input_pipeline.num_examples(config.train_pattern)
  if examples is None:
    logging.info("Counting training examples (no summary.json for this "
                 "pattern; set --train_steps to skip)...")
    examples = count_examples(config.train_pattern)
  return max(1, int(config.epochs * examples // config.batch_size))


def network_input(config):
  """The input_pipeline key the run's encoder reads."""
  return (input_pipeline.WAVEFORM if voice_encoder.takes_waveform(
      config.encoder) else input_pipeline.SPECTROGRAM)


def build_encoder(config, synchronized_batch_norm=False):
  """The voice encoder a TrainConfig describes (untrained; ge2e with its
  pretrained backbone)."""
  return voice_encoder.build(
      config.encoder, face_teacher.get(config.teacher).dim,
      use_batch_norm=config.use_batch_norm,
      synchronized_batch_norm=synchronized_batch_norm,
      zero_init_output=config.zero_init_output,
      head_hidden=config.head_hidden,
      finetune_backbone=config.finetune_backbone)


class VoiceEncoderTask(training_loop.Task):
  """Table 1 + Eq. 1: the model, inputs, losses and images of the encoder."""

  def __init__(self, config):
    super().__init__(config)
    frozen_heads.check_heads(config.decoder_path, config.fc8_weights,
                             config.allow_random_heads, config.teacher)
    self.decoder = None
    self.loss = None

  def build_model(self, num_replicas):
    # One BN over the global batch, however many replicas share it.
    return build_encoder(self.config, synchronized_batch_norm=num_replicas > 1)

  def build_frozen(self):
    config = self.config
    decoder_fc, self.decoder = frozen_heads.load_face_decoder(
        config.decoder_path, config.seed, config.teacher)
    fc8 = frozen_heads.load_fc8(config.fc8_weights, config.seed,
                                config.teacher)
    self.loss = speech2face_loss.Speech2FaceLoss(
        decoder_fc, fc8, config.lambda1, config.lambda2, config.temperature,
        face_decoder=self.decoder, loss_type=config.loss_type)

  def total_steps(self):
    return total_steps(self.config)

  def dataset(self, pattern, is_training, repeat=None, skip_examples=0):
    config = self.config
    return input_pipeline.make_dataset(
        pattern, config.batch_size, is_training,
        segment_seconds=config.segment_seconds,
        shuffle_buffer=config.shuffle_buffer,
        deterministic=config.deterministic, seed=config.seed, repeat=repeat,
        with_images=True, skip_examples=skip_examples,
        teacher=config.teacher, network_input=network_input(config))

  def train_dataset(self, skip_examples):
    return self.dataset(self.config.train_pattern, True,
                        skip_examples=skip_examples)

  def eval_dataset(self):
    if not self.config.eval_pattern:
      return None
    return self.dataset(self.config.eval_pattern, False, repeat=False)

  def per_example_losses(self, model, batch, training):
    # float32 for the loss, whatever the encoder computes in.
    v_s = tf.cast(model(batch[network_input(self.config)],
                        training=training), tf.float32)
    return self.loss.per_example(batch["fc7"], v_s)

  def images(self, model, batch):
    """The true face, the decoder's face from the true fc7, and from the
    speech-predicted feature (the same four clips)."""
    faces = tf.cast(batch["face_image"][:4], tf.float32) / 255.0
    panels = {IMAGE_TAGS[0]: faces}
    if self.decoder is not None:
      v_s = tf.cast(model(batch[network_input(self.config)][:4],
                          training=False),
                    tf.float32)
      for tag, feature in zip(IMAGE_TAGS[1:], (batch["fc7"][:4], v_s)):
        image = self.decoder(feature, training=False)
        panels[tag] = tf.image.resize(image, faces.shape[1:3])
    return panels


def trainer(config, workdir):
  """The training loop of the voice encoder described by `config`."""
  return training_loop.TrainingLoop(VoiceEncoderTask(config), workdir)


def train(config, workdir):
  """Trains (or resumes) the voice encoder described by `config` in `workdir`."""
  return trainer(config, workdir).train()
