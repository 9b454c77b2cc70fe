"""The typed, nested configs of s2f's two trainers, with the paper's values as defaults.

Both trainers share the `optimizer`, `loop` and `runtime` sections (one
definition each); `data` and `model` are each trainer's own. A config is
what a training binary's flags fill in (one flag per leaf, flat names) and
what the trainer writes into its workdir as config.json (the workdir is the
record). Config files store only what differs from these defaults.
"""

import dataclasses

from s2f_tf import run_config
from s2f_tf.audio import audio_format
from s2f_tf.losses import loss_weights
from tfrecords_schema import face_teacher


@dataclasses.dataclass
class OptimizerConfig(run_config.RunConfig):
  """Adam with a staircase exponential decay (Sec. 4 for the encoder)."""

  learning_rate: float = 1e-3  # Sec. 4.
  lr_decay_rate: float = 0.95  # x0.95 ... (1.0: constant)
  lr_decay_steps: int = 10_000  # ... every 10,000 iterations, Sec. 4.
  adam_beta1: float = 0.5  # Sec. 4.
  adam_beta2: float = 0.999  # Not given; Adam's default.
  adam_epsilon: float = 1e-4  # Sec. 4.


@dataclasses.dataclass
class LoopConfig(run_config.RunConfig):
  """How long to train and how often to log, draw, save and evaluate."""

  # Steps to run; 0 (encoder only) derives them from `epochs` x training
  # examples / batch. Paper: 3 x 1.7 M / 8 = 637,500.
  train_steps: int = 0
  # Cadence: every N steps and at the last step (0: only at the last).
  log_every: int = 100  # Steps between loss logs.
  image_every: int = 1000  # Steps between TensorBoard face images.
  checkpoint_every: int = 1000  # Steps between checkpoints.
  keep_checkpoints: int = 5  # Newest checkpoints kept.
  eval_every: int = 5000  # Steps between evaluations (and one at the end).
  eval_batches: int = 50  # Batches per evaluation.
  # A workdir whose newest checkpoint (weights, optimizer, step) starts this
  # run when its own workdir has none: a later phase on other data.
  warm_start: str = ""


@dataclasses.dataclass
class RuntimeConfig(run_config.RunConfig):
  """Where and how the steps run."""

  strategy: str = "default"  # default | one_device | mirrored | multi_worker | tpu
  tpu: str = ""  # TPU name or address for strategy=tpu.
  # XLA-compile each replica's forward and backward pass (one replica per
  # process: XLA cannot compile synchronised BN's cross-replica sums).
  jit_compile: bool = False
  # The model computes in bfloat16 (variables, heads and loss in float32).
  mixed_precision: bool = False
  deterministic: bool = False  # Fixed data order and TF op determinism.
  seed: int = 0  # Initialisation and shuffling seed.


@dataclasses.dataclass
class EncoderDataConfig(run_config.RunConfig):
  train_pattern: str = ""  # Glob of the training TFRecord shards.
  eval_pattern: str = ""  # Glob of the eval shards ("": no evaluation).
  batch_size: int = 8  # Sec. 4.
  epochs: float = 3.0  # Sec. 4.
  segment_seconds: float = audio_format.CLIP_SECONDS  # Speech per example.
  shuffle_buffer: int = 4096  # Examples in the shuffle buffer.


@dataclasses.dataclass
class EncoderModelConfig(run_config.RunConfig):
  # The voice backbone: 'table1' (the paper's Table 1), 'tiny' (its narrow
  # twin, tests / quick demo only) or 'ge2e' (pretrained GE2E d-vector + a
  # head; WORKSPACE.md "Voice backbone").
  encoder: str = "table1"
  head_hidden: int = 512  # ge2e: the head's hidden width (0: linear head).
  finetune_backbone: bool = False  # ge2e: train the GE2E weights too.
  # ge2e, frozen: each clip's d-vector computed once before the first step
  # and the head trained on it (the same function: the segment is fixed;
  # WORKSPACE.md, "Frozen backbone cached").
  cache_backbone: bool = True
  # ge2e: predictions spread about the training features' mean by this
  # factor, folded into the last layer when the run is packaged
  # (experiments/package_model.py); chosen on validation speakers.
  output_scale: float = 1.0
  # The face feature predicted: vgg_face_fc7 (the paper's) or dlib128 (no
  # fc8, so Eq. 1's distillation term is 0). Shards and decoder must match.
  teacher: str = face_teacher.DEFAULT
  use_batch_norm: bool = True  # False: Fig. 9 ablation.
  # The last layer starts at 0 (the paper gives no initialisation). With
  # Keras' default its outputs spread ~10x wider than dlib128's features and
  # the first steps shrink them by silencing fc1's ReLUs for good
  # (WORKSPACE.md).
  zero_init_output: bool = True
  loss_type: str = "paper"  # 'paper' (Eq. 1) or 'pixel' (Fig. 8 ablation).
  lambda1: float = loss_weights.LAMBDA1  # Eq. 1 weight of the f_dec L1.
  lambda2: float = loss_weights.LAMBDA2  # Eq. 1 distillation weight.
  temperature: float = loss_weights.DISTILL_TEMPERATURE  # Eq. 1 T.
  decoder_path: str = ""  # Exported face decoder (.keras); "" = random fc.
  fc8_weights: str = ""  # VGG-Face .h5/.mat for fc8; "" = random fc8.
  # Train against seeded random f_dec / fc8 when decoder_path / fc8_weights
  # are not given (tests and the demo only: Eq. 1 is then meaningless).
  allow_random_heads: bool = False


def _section(cls, **defaults):
  return dataclasses.field(default_factory=lambda: cls(**defaults))


def _check_positive(config, names):
  for name in names:
    if getattr(config, name) <= 0:
      raise ValueError(f"--{name}={getattr(config, name)}: must be > 0")


def _check_choices(config, choices):
  for name, allowed in choices.items():
    if getattr(config, name) not in allowed:
      raise ValueError(f"--{name}={getattr(config, name)!r}: choose one of "
                       f"{', '.join(allowed)}")


def _check_shared_sections(config):
  """The checks of the optimizer, loop and runtime sections both trainers
  share."""
  from s2f_tf import strategy as strategy_lib  # pylint: disable=g-import-not-at-top
  _check_choices(config, {"strategy": strategy_lib.STRATEGIES})
  _check_positive(config, ("learning_rate", "lr_decay_steps",
                           "keep_checkpoints"))
  for name in ("log_every", "image_every", "checkpoint_every", "eval_every"):
    if getattr(config, name) < 0:
      raise ValueError(f"--{name}={getattr(config, name)}: must be >= 0 "
                       "(0: only at the last step)")
  if config.jit_compile and config.deterministic:
    raise ValueError("--jit_compile with --deterministic: XLA has no "
                     "deterministic MaxPool gradient; drop one of them")


@dataclasses.dataclass
class TrainConfig(run_config.RunConfig):
  """All knobs of one voice-encoder training run (paper values by default)."""

  data: EncoderDataConfig = _section(EncoderDataConfig)
  model: EncoderModelConfig = _section(EncoderModelConfig)
  optimizer: OptimizerConfig = _section(OptimizerConfig)
  loop: LoopConfig = _section(LoopConfig)
  runtime: RuntimeConfig = _section(RuntimeConfig)

  def validate(self):
    """Raises ValueError naming the flag of the first bad value."""
    from s2f_tf.models import voice_encoder  # pylint: disable=g-import-not-at-top
    _check_shared_sections(self)
    _check_choices(self, {"loss_type": loss_weights.LOSS_TYPES,
                          "encoder": voice_encoder.ENCODERS,
                          "teacher": tuple(face_teacher.TEACHERS)})
    if self.fc8_weights and not face_teacher.get(
        self.teacher).has_identity_classifier:
      raise ValueError(f"--fc8_weights with --teacher={self.teacher}: that "
                       "teacher has no identity classifier (lambda3 = 0)")
    _check_positive(self, ("batch_size", "segment_seconds"))
    if not self.train_pattern:
      raise ValueError("--train_pattern is required: a glob of training "
                       "shards (s2f-prepare-shards writes them)")
    return self


@dataclasses.dataclass
class DecoderDataConfig(run_config.RunConfig):
  data_dir: str = ""  # Output of prepare_decoder_data (summary.json + shards).
  batch_size: int = 8
  cache: bool = False  # Keep parsed examples in memory (small data sets).
  shuffle_buffer: int = 1024


@dataclasses.dataclass
class DecoderModelConfig(run_config.RunConfig):
  decoder: str = "full"  # face_decoder.SPECS: 'full' or 'tiny' (tests, demo).
  use_batch_norm: bool = False  # True brings back the centre blot.
  landmark_weight: float = 1.0  # x MSE of landmarks / 224.
  texture_weight: float = 1.0  # x mean |texture - target| in [0, 1].
  # x (1 - cos) of the teacher's feature of the decoded face (Cole et al.):
  # VGG-Face fc7 (needs --vgg_face_weights) or dlib128 (dlib's network in
  # Keras, weights from --dlib_resnet_weights, '' = the installed file).
  identity_weight: float = 0.0
  vgg_face_weights: str = ""
  dlib_resnet_weights: str = ""
  # dlib128's chip moved at random in training (face_chip.ChipSampler).
  identity_jitter: float = 0.0
  # A decoder .keras (an export, e.g. the shipped one) whose weights start
  # a new run (a run with checkpoints resumes from them instead).
  init_decoder: str = ""


@dataclasses.dataclass
class DecoderTrainConfig(run_config.RunConfig):
  """Knobs of one face-decoder run (values chosen by s2f: WORKSPACE.md)."""

  data: DecoderDataConfig = _section(DecoderDataConfig)
  model: DecoderModelConfig = _section(DecoderModelConfig)
  optimizer: OptimizerConfig = _section(
      OptimizerConfig, learning_rate=1e-4, lr_decay_rate=1.0, adam_beta1=0.9,
      adam_epsilon=1e-7)
  loop: LoopConfig = _section(LoopConfig, train_steps=50_000, eval_every=0)
  runtime: RuntimeConfig = _section(RuntimeConfig)

  def validate(self):
    """Raises ValueError naming the flag of the first bad value."""
    from s2f_tf.models import face_decoder  # pylint: disable=g-import-not-at-top
    _check_shared_sections(self)
    _check_choices(self, {"decoder": tuple(face_decoder.SPECS)})
    _check_positive(self, ("batch_size", "train_steps"))
    if not self.data_dir:
      raise ValueError("--data_dir is required: the output of "
                       "s2f-prepare-decoder-data")
    return self
