"""The GE2E head trained alone on d-vectors held in memory: a `training_loop` task.

The head selection (`experiments/evaluation/ge2e_head_selection.py`) and
the cross-fitted predictions (`data_prep/cross_fitted_predictions.py`)
train many small heads on each clip's cached d-vector (the frozen GE2E
backbone of its fixed segment) with Eq. 1 against the frozen decoder's
first layer, and read each head's predictions at chosen steps.
`DvectorHeadTask` is that head's part of the one training loop: the head
(`ge2e_encoder.head_layers`), batches drawn from the arrays in epochs of
random order, Eq. 1's per-example terms, and `after_step` calling
`predict(head)` at the scored steps. `train_head` runs one in a scratch
workdir (nothing to resume: a head takes seconds).
"""

import tempfile

import keras
import numpy as np
import tensorflow as tf

from s2f_tf import training_loop
from s2f_tf.losses import speech2face_loss
from s2f_tf.models import ge2e_encoder

DVECTOR = "dvector"
FEATURE = "fc7"  # The teacher's feature, as in the speech/face batches.


def batch_order(examples, batch_size, steps, seed):
  """(steps, batch_size) example indices: epochs of a seeded random order
  laid end to end, each batch the next `batch_size` of them."""
  rng = np.random.RandomState(seed)
  order = np.zeros(0, np.int64)
  while len(order) < steps * batch_size:
    order = np.concatenate([order, rng.permutation(examples)])
  return order[:steps * batch_size].reshape(steps, batch_size)


class DvectorHeadTask(training_loop.Task):
  """The head on (x: d-vectors, y: teacher features) with Eq. 1 against
  `decoder_fc`; `predict(head)` is kept at each of `score_steps`
  (`self.scores`)."""

  def __init__(self, config, x, y, decoder_fc, score_steps=(), predict=None):
    super().__init__(config)
    self.x = np.asarray(x, np.float32)
    self.y = np.asarray(y, np.float32)
    self.decoder_fc = decoder_fc
    self.score_steps = {int(s) for s in score_steps}
    self.predict = predict
    self.scores = {}
    self.loss = None

  def build_model(self, num_replicas):
    del num_replicas  # No batch norm in the head.
    config = self.config
    return keras.Sequential(
        [keras.Input((self.x.shape[1],))] + ge2e_encoder.head_layers(
            self.y.shape[1], config.head_hidden,
            zero_init_output=config.zero_init_output))

  def build_frozen(self):
    config = self.config
    self.loss = speech2face_loss.Speech2FaceLoss(
        self.decoder_fc, None, config.lambda1, config.lambda2,
        config.temperature)

  def train_dataset(self, skip_examples):
    config = self.config
    order = batch_order(len(self.x), config.batch_size, config.train_steps,
                        config.seed)[skip_examples // config.batch_size:]
    x, y = tf.constant(self.x), tf.constant(self.y)
    return tf.data.Dataset.from_tensor_slices(order).map(
        lambda rows: {DVECTOR: tf.gather(x, rows), FEATURE: tf.gather(y, rows)})

  def per_example_losses(self, model, batch, training):
    return self.loss.per_example(batch[FEATURE],
                                 model(batch[DVECTOR], training=training))

  def after_step(self, model, step):
    if step in self.score_steps and self.predict is not None:
      self.scores[step] = self.predict(model)


def train_head(x, y, width, learning_rate, score_steps, decoder_fc, predict,
               batch_size=32, seed=0, teacher=None):
  """Trains one head (`head_hidden` = width) through `TrainingLoop`;
  {step: predict(head)} at each of `score_steps`. The optimizer is the
  encoder's (Sec. 4's Adam; its decay step lies beyond a head's steps)."""
  from s2f_tf import train_config  # pylint: disable=g-import-not-at-top
  steps = max(int(s) for s in score_steps)
  config = train_config.TrainConfig().replace(
      train_pattern="d-vectors in memory", encoder="ge2e",
      head_hidden=int(width), learning_rate=float(learning_rate),
      batch_size=int(batch_size), seed=int(seed), train_steps=steps,
      log_every=0, image_every=0, checkpoint_every=0, eval_every=0,
      keep_checkpoints=1, **({"teacher": teacher} if teacher else {}))
  task = DvectorHeadTask(config, x, y, decoder_fc, score_steps, predict)
  with tempfile.TemporaryDirectory(prefix="s2f_head_") as workdir:
    training_loop.TrainingLoop(task, workdir).train()
  return task.scores
