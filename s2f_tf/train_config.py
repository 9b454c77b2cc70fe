"""Training configuration of the voice encoder, with the paper's values as defaults.

`TrainConfig` is what the training binary's flags fill in and what the
trainer writes into its workdir as config.json (the workdir is the record).
"""

import dataclasses

from s2f_tf import run_config
from s2f_tf.audio import spectrogram
from s2f_tf.losses import speech2face_loss


@dataclasses.dataclass
class TrainConfig(run_config.RunConfig):
  """All knobs of one voice-encoder training run."""

  train_pattern: str = ""  # Glob of the training TFRecord shards.
  eval_pattern: str = ""  # Glob of the eval shards ("": no evaluation).
  batch_size: int = 8  # Sec. 4.
  epochs: float = 3.0  # Sec. 4.
  # Steps to run; 0 derives them from `epochs` x training examples / batch.
  # Paper: 3 x 1.7 M / 8 = 637,500.
  train_steps: int = 0
  learning_rate: float = 1e-3  # Sec. 4.
  lr_decay_rate: float = 0.95  # x0.95 ...
  lr_decay_steps: int = 10_000  # ... every 10,000 iterations, Sec. 4.
  adam_beta1: float = 0.5  # Sec. 4.
  adam_beta2: float = 0.999  # Not given; Adam's default.
  adam_epsilon: float = 1e-4  # Sec. 4.
  lambda1: float = speech2face_loss.LAMBDA1  # Eq. 1 weight of the f_dec L1.
  lambda2: float = speech2face_loss.LAMBDA2  # Eq. 1 distillation weight.
  temperature: float = speech2face_loss.DISTILL_TEMPERATURE  # Eq. 1 T.
  loss_type: str = "paper"  # 'paper' (Eq. 1) or 'pixel' (Fig. 8 ablation).
  segment_seconds: float = spectrogram.CLIP_SECONDS  # Speech per example.
  encoder: str = "table1"  # 'table1' or 'tiny' (tests / quick demo only).
  use_batch_norm: bool = True  # False: Fig. 9 ablation.
  # XLA-compile each replica's forward and backward pass (one replica per
  # process: XLA cannot compile synchronised BN's cross-replica sums).
  jit_compile: bool = False
  # The encoder computes in bfloat16 (variables, heads and loss in float32).
  mixed_precision: bool = False
  strategy: str = "default"  # default | one_device | mirrored | multi_worker | tpu
  tpu: str = ""  # TPU name or address for strategy=tpu.
  decoder_path: str = ""  # Exported face decoder (.keras); "" = random fc.
  fc8_weights: str = ""  # VGG-Face .h5/.mat for fc8; "" = random fc8.
  # Train against seeded random f_dec / fc8 when decoder_path / fc8_weights
  # are not given (tests and the demo only: Eq. 1 is then meaningless).
  allow_random_heads: bool = False
  shuffle_buffer: int = 4096  # Examples in the shuffle buffer.
  deterministic: bool = False  # Fixed data order and TF op determinism.
  seed: int = 0  # Initialisation and shuffling seed.
  log_every: int = 100  # Steps between loss logs.
  image_every: int = 1000  # Steps between TensorBoard face images.
  checkpoint_every: int = 1000  # Steps between checkpoints.
  keep_checkpoints: int = 5  # Newest checkpoints kept.
  eval_every: int = 5000  # Steps between evaluations.
  eval_batches: int = 50  # Batches per evaluation.

  def validate(self):
    """Raises ValueError naming the flag of the first bad value."""
    from s2f_tf import strategy as strategy_lib  # pylint: disable=g-import-not-at-top
    from s2f_tf.models import voice_encoder  # pylint: disable=g-import-not-at-top
    choices = {"strategy": strategy_lib.STRATEGIES,
               "loss_type": speech2face_loss.LOSS_TYPES,
               "encoder": tuple(voice_encoder.SPECS)}
    for name, allowed in choices.items():
      if getattr(self, name) not in allowed:
        raise ValueError(f"--{name}={getattr(self, name)!r}: choose one of "
                         f"{', '.join(allowed)}")
    for name in ("batch_size", "learning_rate", "lr_decay_steps",
                 "segment_seconds", "log_every", "checkpoint_every",
                 "image_every", "eval_every", "keep_checkpoints"):
      if getattr(self, name) <= 0:
        raise ValueError(f"--{name}={getattr(self, name)}: must be > 0")
    if self.jit_compile and self.deterministic:
      raise ValueError("--jit_compile with --deterministic: XLA has no "
                       "deterministic MaxPool gradient; drop one of them")
    if not self.train_pattern:
      raise ValueError("--train_pattern is required: a glob of training "
                       "shards (s2f-prepare-shards writes them)")
    return self
