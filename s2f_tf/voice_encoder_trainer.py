"""Voice-encoder training (Sec. 3.2, 4): Table 1 trained with Eq. 1 against frozen heads.

`VoiceEncoderTask` is the encoder's part of `training_loop`: the Table 1
encoder (synchronised BN when there is more than one replica), the speech /
face shards through `input_pipeline`, Eq. 1 against the frozen f_dec (the
face decoder's first layer) and VGG-Face fc8, and image summaries of the
true face next to the decoder's faces from the true and the predicted
feature. `train(config, workdir)` trains or resumes a run.

A frozen pretrained backbone (`ge2e` without fine-tuning) is a fixed
function of each clip's fixed segment: with `cache_backbone` its d-vectors
are computed once, before the first step, and the steps train the head on
them (the same losses, ~1 s a step less on 2 cores).
"""

from absl import logging
import numpy as np
import tensorflow as tf

from s2f_tf import frozen_heads
from s2f_tf import input_pipeline
from s2f_tf import progress
from s2f_tf import training_loop
from s2f_tf.losses import speech2face_loss
from s2f_tf.models import ge2e_encoder
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
    self.head = None  # The head alone, when the backbone is cached.
    self.cached = (config.encoder == "ge2e" and not config.finetune_backbone
                   and config.cache_backbone)
    self.rows = self.dvectors = None

  def build_model(self, num_replicas):
    # One BN over the global batch, however many replicas share it.
    model = build_encoder(self.config,
                          synchronized_batch_norm=num_replicas > 1)
    if self.cached:
      self.head = ge2e_encoder.head_of(model)
      self.backbone = model.get_layer("ge2e")
    return model

  def build_frozen(self):
    config = self.config
    decoder_fc, self.decoder = frozen_heads.load_face_decoder(
        config.decoder_path, config.seed, config.teacher)
    fc8 = frozen_heads.load_fc8(config.fc8_weights, config.seed,
                                config.teacher)
    self.loss = speech2face_loss.Speech2FaceLoss(
        decoder_fc, fc8, config.lambda1, config.lambda2, config.temperature,
        face_decoder=self.decoder, loss_type=config.loss_type)
    if self.cached:
      self._cache_backbone()

  def _cache_backbone(self):
    """Every train and eval segment's d-vector, keyed by a fingerprint of
    the segment itself (the same segment, the same d-vector)."""
    config = self.config
    rows, dvectors = {}, []
    patterns = [p for p in (config.train_pattern, config.eval_pattern) if p]
    total = sum(input_pipeline.num_examples(p) or 0 for p in patterns)
    bar = progress.Progress(total, name="clips' d-vectors (frozen "
                            "backbone, once)")
    backbone = tf.function(lambda w: self.backbone(w, training=False))
    for pattern in patterns:
      for batch in input_pipeline.make_dataset(
          pattern, config.batch_size, False,
          segment_seconds=config.segment_seconds, deterministic=True,
          repeat=False, drop_remainder=False, teacher=config.teacher,
          network_input=input_pipeline.WAVEFORM):
        waveform = batch[input_pipeline.WAVEFORM]
        for key, dvector in zip(_segment_keys(waveform).numpy(),
                                backbone(waveform).numpy()):
          if key not in rows:
            rows[key] = len(dvectors)
            dvectors.append(dvector)
        bar.update(len(waveform))
    self.rows = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(list(rows), tf.int64),
        tf.constant(list(rows.values()), tf.int64)), -1)
    self.dvectors = tf.constant(np.stack(dvectors))

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
    if self.cached:
      rows = self.rows.lookup(_segment_keys(batch[input_pipeline.WAVEFORM]))
      tf.debugging.assert_non_negative(
          rows, "a segment without a cached d-vector (not in the train or "
          "eval pattern)")
      v_s = self.head(tf.gather(self.dvectors, rows), training=training)
    else:
      v_s = model(batch[network_input(self.config)], training=training)
    # float32 for the loss, whatever the encoder computes in.
    return self.loss.per_example(batch["fc7"], tf.cast(v_s, tf.float32))

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


def _segment_keys(waveforms):
  """(batch, samples) -> (batch,) int64 fingerprints of each segment."""
  return tf.bitcast(tf.fingerprint(waveforms), tf.int64)


def trainer(config, workdir):
  """The training loop of the voice encoder described by `config`."""
  return training_loop.TrainingLoop(VoiceEncoderTask(config), workdir)


def train(config, workdir):
  """Trains (or resumes) the voice encoder described by `config` in `workdir`."""
  return trainer(config, workdir).train()
