"""s2f's one training loop: a task's model under tf.distribute, resumable from its workdir.

A `Task` says what differs between models: the model, its inputs, its
per-example losses, its image summaries and what to keep at the end
(`voice_encoder_trainer.VoiceEncoderTask`, `face_decoder_trainer.
FaceDecoderTask`, `dvector_head_trainer.DvectorHeadTask`). `TrainingLoop` does the rest, once for both: the
strategy, seeds and determinism, Adam with the configured decay, the step
(tape, gradients, apply; XLA and bfloat16 on request), the cadence of logs,
images, checkpoints and evaluations, and resuming.

The workdir is the record of a run: config.json, checkpoints/ (model +
optimizer; the step is `optimizer.iterations`), TensorBoard summaries in
train/ and eval/, and metrics.jsonl with every logged step. Training again
with the same workdir resumes from the newest checkpoint and continues the
data order where it stopped. Under multi-worker only the chief writes the
record; the other workers write theirs to a scratch folder that is removed
at the end.
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from s2f_tf import progress
from s2f_tf import run_record
from s2f_tf import strategy as strategy_lib

MIXED_PRECISION_POLICY = "mixed_bfloat16"  # needs no loss scaling


def itstime(step, every, total):
  """True every `every` steps (never when 0) and at the last step."""
  return step == total or (every > 0 and step % every == 0)


class Task:
  """One model's part of training; subclasses fill in what they need."""

  def __init__(self, config):
    self.config = config.validate()  # user errors before any work

  def build_model(self, num_replicas):
    """The trained Keras model (called inside the strategy scope)."""
    raise NotImplementedError

  def build_frozen(self):
    """Frozen parts the losses use (called inside the strategy scope)."""

  def total_steps(self):
    return self.config.train_steps

  def resume_at(self, step):
    """Called before the first step of a run that starts (or resumes) at
    `step`: sets what the losses draw at random and the checkpoint does
    not hold, so a resumed run draws what an uninterrupted one would."""

  def train_dataset(self, skip_examples):
    """Repeating training batches of the global batch size, the first
    `skip_examples` examples of the stream passed over."""
    raise NotImplementedError

  def eval_dataset(self):
    """Finite evaluation batches, or None."""
    return None

  def per_example_losses(self, model, batch, training):
    """{term: (per-replica batch,) float32}, with 'total' the one trained."""
    raise NotImplementedError

  def after_step(self, model, step):
    """Called after every step with the model and the step just done (a
    task that reads its model mid-run, e.g. the head selection's scores)."""
    del model, step

  def images(self, model, batch):
    """{TensorBoard tag: (n, h, w, 3) images in [0, 1]} for one batch."""
    del model, batch
    return {}

  def finish(self, model, workdir):
    """Called by the chief after the last step (exports)."""
    del model, workdir


def _optimizer(config):
  schedule = config.learning_rate
  if config.lr_decay_rate != 1.0:
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, decay_steps=config.lr_decay_steps,
        decay_rate=config.lr_decay_rate, staircase=True)
  return keras.optimizers.Adam(schedule, beta_1=config.adam_beta1,
                               beta_2=config.adam_beta2,
                               epsilon=config.adam_epsilon)


class TrainingLoop:
  """Builds a task inside the strategy scope and runs it from its workdir."""

  def __init__(self, task, workdir):
    config = task.config
    self.task = task
    self.config = config
    self.workdir = workdir
    # The strategy first: a multi-worker one must exist before other ops.
    self.strategy = strategy_lib.get_strategy(config.strategy, config.tpu)
    replicas = self.strategy.num_replicas_in_sync
    progress.report(f"Strategy {config.strategy} with {replicas} replicas in "
                    "sync")
    if config.jit_compile and replicas > 1:
      raise ValueError(
          f"--jit_compile with {replicas} replicas: XLA cannot compile "
          "synchronised BatchNorm's cross-replica sums; use one replica per "
          "process (--strategy=multi_worker across processes) or drop "
          "--jit_compile")
    # A nested tf.function only for XLA: synchronised BN's cross-replica
    # sums cannot sit inside one.
    self._losses_and_grads = tf.function(
        self._losses_and_grads_fn, jit_compile=True) if config.jit_compile \
        else self._losses_and_grads_fn
    # Only the chief writes the run's record; other workers write theirs to
    # a scratch folder (every worker must take part in saving) and restore
    # from the chief's checkpoints.
    self.is_chief = strategy_lib.is_chief(self.strategy)
    self.write_dir = workdir if self.is_chief else tempfile.mkdtemp(
        prefix="s2f_worker_")
    run_record.write_config(config.to_json(), self.write_dir)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
      tf.config.experimental.enable_op_determinism()
    with self.strategy.scope():
      policy = keras.config.dtype_policy()
      if config.mixed_precision:
        keras.config.set_dtype_policy(MIXED_PRECISION_POLICY)
      try:
        self.model = task.build_model(replicas)
      finally:
        keras.config.set_dtype_policy(policy)
      self.optimizer = _optimizer(config.optimizer)
      self.optimizer.build(self.model.trainable_variables)
      task.build_frozen()
      self.manager = run_record.checkpoint_manager(
          self.write_dir, config.keep_checkpoints,
          restore_from=run_record.restore_dir(workdir, config.warm_start),
          model=self.model, optimizer=self.optimizer)
      if isinstance(self.optimizer.learning_rate, keras.Variable):
        # A constant rate is a variable the checkpoint restored: the
        # config's value wins, so a resume with a new --learning_rate (a
        # lower-rate phase) uses it.
        self.optimizer.learning_rate.assign(config.learning_rate)
    # A warm-started phase's data (and the losses' draws) start at its own
    # first step, not after the run it started from: that run's data is
    # another stage's, and passing over it took as long as reading it.
    self.phase_start = run_record.warm_start_step(config.warm_start)
    self.record = run_record.RunRecord(self.write_dir, config.batch_size)
    self.eval_writer = tf.summary.create_file_writer(
        os.path.join(self.write_dir, "eval"))

  @property
  def step(self):
    return int(self.optimizer.iterations.numpy())

  def distribute(self, ds):
    """The strategy's dataset: across workers each takes its replicas' share
    of every global batch (not whole files), so N workers see the batches
    one worker would."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return self.strategy.experimental_distribute_dataset(
        ds.with_options(options))

  def _per_replica_losses(self, batch, training):
    terms = self.task.per_example_losses(self.model, batch, training)
    return {name: tf.nn.compute_average_loss(
        tf.cast(value, tf.float32), global_batch_size=self.config.batch_size)
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
    """Mean of every loss term over `eval_batches` batches of the eval data."""
    ds = self.task.eval_dataset()
    if ds is None:
      return {}
    sums, batches = {}, 0
    for batch in self.distribute(ds.take(self.config.eval_batches)):
      for name, value in self.eval_step(batch).items():
        sums[name] = sums.get(name, 0.0) + float(value)
      batches += 1
    means = {name: value / max(batches, 1) for name, value in sums.items()}
    with self.eval_writer.as_default(step=self.step):
      for name, value in means.items():
        tf.summary.scalar(f"losses/{name}", value)
    self.eval_writer.flush()
    progress.report(f"eval at step {self.step} over {batches} batches: "
                    f"{ {k: round(v, 4) for k, v in means.items()} }")
    return means

  def write_images(self, batch):
    """The task's image summaries of the first replica's share of `batch`."""
    local = self.strategy.experimental_local_results(batch)[0]
    with self.record.writer.as_default(step=self.step):
      for tag, images in self.task.images(self.model, local).items():
        tf.summary.image(tag, tf.clip_by_value(images, 0, 1), max_outputs=4)

  def train(self):
    """Runs until the task's number of steps; returns the last losses."""
    config = self.config
    total = self.task.total_steps()
    if self.step >= total:
      # A finished run (or one stopped before its export) still exports the
      # checkpoint it holds, so a later stage finds the model.
      progress.report(f"Already at step {self.step} of {total}: no training;"
                      " exporting.")
      self._finish()
      return {}
    # A resumed run continues the data order where the checkpoint left it,
    # and the task's random draws; a warm-started phase counts from its own
    # first step.
    phase_step = max(self.step - self.phase_start, 0)
    self.task.resume_at(phase_step)
    iterator = iter(self.distribute(self.task.train_dataset(
        phase_step * config.batch_size)))
    losses = {}
    while self.step < total:
      batch = next(iterator)
      losses = self.train_step(batch)
      self.record.step_done()
      step = self.step
      run_record.check_finite(step, losses, self.manager)
      self.task.after_step(self.model, step)
      if itstime(step, config.log_every, total):
        self.record.log(step, total, losses,
                        self.optimizer.learning_rate.numpy())
      if itstime(step, config.image_every, total):
        self.write_images(batch)
      if itstime(step, config.checkpoint_every, total):
        self.manager.save(checkpoint_number=step)
      if step != total and itstime(step, config.eval_every, total):
        self.evaluate()
    self.evaluate()
    self.record.writer.flush()
    self._finish()
    return {k: float(v) for k, v in losses.items()}

  def _finish(self):
    if self.is_chief:
      self.task.finish(self.model, self.workdir)
    else:
      shutil.rmtree(self.write_dir, ignore_errors=True)
