"""Voice-encoder training loop: Eq. 1 under tf.distribute, resumable from its workdir.

The workdir is the record of a run: config.json, checkpoints/ (model +
optimizer; the step is `optimizer.iterations`), TensorBoard summaries in
train/ and eval/, and metrics.jsonl with every logged step. Calling `train`
again with the same workdir resumes from the newest checkpoint.
"""

import os
import tempfile

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from s2f_tf import frozen_heads
from s2f_tf import input_pipeline
from s2f_tf import run_record
from s2f_tf import strategy as strategy_lib
from s2f_tf.losses import speech2face_loss
from s2f_tf.models import voice_encoder


MIXED_PRECISION_POLICY = "mixed_bfloat16"  # needs no loss scaling
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


class Trainer:
  """Builds everything inside the strategy scope and runs the loop."""

  def __init__(self, config, workdir):
    config.validate()
    frozen_heads.check_heads(config.decoder_path, config.fc8_weights,
                             config.allow_random_heads)
    self.config = config
    self.workdir = workdir
    # The strategy first: a multi-worker one must exist before other ops.
    self.strategy = strategy_lib.get_strategy(config.strategy, config.tpu)
    logging.info("Strategy %s with %d replicas in sync", config.strategy,
                 self.strategy.num_replicas_in_sync)
    if config.jit_compile and self.strategy.num_replicas_in_sync > 1:
      raise ValueError(
          f"--jit_compile with {self.strategy.num_replicas_in_sync} replicas:"
          " XLA cannot compile synchronised BatchNorm's cross-replica sums; "
          "use one replica per process (--strategy=multi_worker across "
          "processes) or drop --jit_compile")
    # A nested tf.function only for XLA: synchronised BN's cross-replica
    # sums cannot sit inside one.
    self._losses_and_grads = tf.function(
        self._losses_and_grads_fn, jit_compile=True) if config.jit_compile \
        else self._losses_and_grads_fn
    # Only the chief writes the run's record; other workers write theirs to
    # a scratch folder (every worker must take part in saving) and restore
    # from the chief's checkpoints.
    self.is_chief = strategy_lib.is_chief(self.strategy)
    write_dir = workdir if self.is_chief else tempfile.mkdtemp(
        prefix="s2f_worker_")
    run_record.write_config(config.to_json(), write_dir)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
      tf.config.experimental.enable_op_determinism()
    with self.strategy.scope():
      # One BN over the global batch, however many replicas share it.
      policy = keras.config.dtype_policy()
      if config.mixed_precision:
        keras.config.set_dtype_policy(MIXED_PRECISION_POLICY)
      try:
        self.model = voice_encoder.build_voice_encoder(
            voice_encoder.SPECS[config.encoder],
            use_batch_norm=config.use_batch_norm,
            synchronized_batch_norm=self.strategy.num_replicas_in_sync > 1)
      finally:
        keras.config.set_dtype_policy(policy)
      schedule = keras.optimizers.schedules.ExponentialDecay(
          config.learning_rate, decay_steps=config.lr_decay_steps,
          decay_rate=config.lr_decay_rate, staircase=True)
      self.optimizer = keras.optimizers.Adam(
          schedule, beta_1=config.adam_beta1, beta_2=config.adam_beta2,
          epsilon=config.adam_epsilon)
      self.optimizer.build(self.model.trainable_variables)
      decoder_fc, self.decoder = frozen_heads.load_face_decoder(
          config.decoder_path, config.seed)
      self.fc8 = frozen_heads.load_fc8(config.fc8_weights, config.seed)
      self.loss = speech2face_loss.Speech2FaceLoss(
          decoder_fc, self.fc8, config.lambda1, config.lambda2,
          config.temperature, face_decoder=self.decoder,
          loss_type=config.loss_type)
      self.manager = run_record.checkpoint_manager(
          write_dir, config.keep_checkpoints, restore_from=workdir,
          model=self.model, optimizer=self.optimizer)
    self.record = run_record.RunRecord(write_dir, config.batch_size)
    self.train_writer = self.record.writer
    self.eval_writer = tf.summary.create_file_writer(
        os.path.join(write_dir, "eval"))

  @property
  def step(self):
    return int(self.optimizer.iterations.numpy())

  def _dataset(self, pattern, is_training, repeat=None, skip_examples=0):
    ds = input_pipeline.make_dataset(
        pattern, self.config.batch_size, is_training,
        segment_seconds=self.config.segment_seconds,
        shuffle_buffer=self.config.shuffle_buffer,
        deterministic=self.config.deterministic, seed=self.config.seed,
        repeat=repeat, with_images=True, skip_examples=skip_examples)
    # Across workers, each takes its replicas' share of every global batch
    # (not whole files), so N workers see the batches one worker would.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return ds.with_options(options)

  def _per_replica_losses(self, batch, training):
    # float32 for the loss, whatever the encoder computes in.
    v_s = tf.cast(self.model(batch["spectrogram"], training=training),
                  tf.float32)
    terms = self.loss.per_example(batch["fc7"], v_s)
    return {name: tf.nn.compute_average_loss(
        value, global_batch_size=self.config.batch_size)
            for name, value in terms.items()}

  def _reduce(self, per_replica):
    return {name: self.strategy.reduce("SUM", value, axis=None)
            for name, value in per_replica.items()}

  def _losses_and_grads_fn(self, batch):
    """One replica's loss terms and gradients (XLA-compiled on request)."""
    with tf.GradientTape() as tape:
      terms = self._per_replica_losses(batch, training=True)
    return terms, tape.gradient(terms["total"],
                                self.model.trainable_variables)

  @tf.function
  def train_step(self, batch):
    def step_fn(batch):
      terms, grads = self._losses_and_grads(batch)
      self.optimizer.apply_gradients(zip(grads,
                                         self.model.trainable_variables))
      return terms
    return self._reduce(self.strategy.run(step_fn, args=(batch,)))

  @tf.function
  def eval_step(self, batch):
    return self._reduce(self.strategy.run(
        lambda b: self._per_replica_losses(b, training=False), args=(batch,)))

  def evaluate(self):
    """Mean of every loss term over `eval_batches` batches of the eval split."""
    if not self.config.eval_pattern:
      return {}
    ds = self._dataset(self.config.eval_pattern, False, repeat=False).take(
        self.config.eval_batches)
    sums, batches = {}, 0
    for batch in self.strategy.experimental_distribute_dataset(ds):
      for name, value in self.eval_step(batch).items():
        sums[name] = sums.get(name, 0.0) + float(value)
      batches += 1
    means = {name: value / max(batches, 1) for name, value in sums.items()}
    with self.eval_writer.as_default(step=self.step):
      for name, value in means.items():
        tf.summary.scalar(f"losses/{name}", value)
    self.eval_writer.flush()
    logging.info("eval at step %d over %d batches: %s", self.step, batches,
                 {k: round(v, 4) for k, v in means.items()})
    return means

  def write_images(self, batch):
    """Three image summaries of the same faces: the true face, the decoder's
    face from the true fc7, and from the speech-predicted feature."""
    faces = tf.cast(batch["face_image"][:4], tf.float32) / 255.0
    panels = {IMAGE_TAGS[0]: faces}
    if self.decoder is not None:
      v_s = self.model(batch["spectrogram"][:4], training=False)
      for tag, feature in zip(IMAGE_TAGS[1:], (batch["fc7"][:4], v_s)):
        image = tf.clip_by_value(self.decoder(feature, training=False), 0, 1)
        panels[tag] = tf.image.resize(image, faces.shape[1:3])
    with self.train_writer.as_default(step=self.step):
      for tag, images in panels.items():
        tf.summary.image(tag, images, max_outputs=4)

  def train(self):
    """Runs until the configured number of steps; returns the last losses."""
    config = self.config
    total = total_steps(config)
    if self.step >= total:
      logging.info("Already at step %d of %d: nothing to do.", self.step, total)
      return {}
    # A resumed run continues the data order where the checkpoint left it.
    train_ds = self._dataset(config.train_pattern, True,
                             skip_examples=self.step * config.batch_size)
    iterator = iter(self.strategy.experimental_distribute_dataset(train_ds))
    losses = {}
    while self.step < total:
      batch = next(iterator)
      losses = self.train_step(batch)
      self.record.step_done()
      step = self.step
      run_record.check_finite(step, losses, self.manager)
      if step % config.log_every == 0 or step == total:
        self.record.log(step, total, losses,
                        self.optimizer.learning_rate.numpy())
      if step % config.image_every == 0 or step == total:
        # The first replica's share of the step's own batch.
        self.write_images(self.strategy.experimental_local_results(batch)[0])
      if step % config.checkpoint_every == 0 or step == total:
        self.manager.save(checkpoint_number=step)
      if step % config.eval_every == 0 and step != total:
        self.evaluate()
    self.evaluate()
    self.train_writer.flush()
    return {k: float(v) for k, v in losses.items()}


def train(config, workdir):
  """Trains (or resumes) the voice encoder described by `config` in `workdir`."""
  return Trainer(config, workdir).train()
