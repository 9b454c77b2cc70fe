"""s2f's main chain as named, resumable stages: pairs -> shards -> decoder data -> decoder -> head -> model -> table.

The real-pairs demo (`s2f demo`), the shipped-model recipe
(`experiments.train_shipped_model`) and the real-pairs table
(`experiments.real_pairs_table`) are each a `Recipe` and a list of stage
names run by `Pipeline.run`. Every stage resumes from what its folder in
the work folder already holds (finished shards, checkpoints, the head
selection's JSON), so rerunning a list redoes only what is unfinished;
`Pipeline.redo_from(stage)` sets a stage's outputs and every later one's
aside, so that a changed stage and what follows from it run again.

Stages (`STAGES`), in the order they may run:
- shards: speech/face shards of the pairs' committed split (`train`,
  `test`, and with `Recipe.validation` the validation speakers cut from the
  training speakers: `pairs_data.validation_split`);
- decoder data: aligned faces + teacher features from the fitting
  speakers' frames, the GRID frames and `Recipe.extra_faces`;
- decoder training: the face decoder of `Recipe.decoder_config`;
- decoder fine-tuning: on the fitting clips' frames paired with the
  voice's cross-fitted predictions of them (`FineTune`);
- decoder identity term: trained on the fine-tuning data with Cole et
  al.'s identity term through dlib's network in Keras (`IdentityTune`;
  last, so that no later stage without the term undoes it);
- head selection: the GE2E head's width, rate, steps and output scale,
  chosen on the validation speakers (`ge2e_head_selection`);
- head training: the voice encoder of `Recipe.encoder_config` (+ the
  selection's choice) trained with Eq. 1 against the frozen decoder;
- predict: a face from the first held-out clip's voice;
- package: the model folder (`model_package`);
- table: s2f's faces beside the paper's on the held-out speakers
  (`real_pairs`), written as JSON, markdown and the two figures.
"""

import dataclasses
import functools
import json
import os

from tfrecords_schema import face_teacher

# experiments/: the configs and the embedded data.
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(HERE, "configs")
ATTRIBUTE_MODELS = os.path.join(HERE, "demo_data", "models",
                                "dlib_age_gender")
GRID_DIR = os.path.join(HERE, "demo_data", "grid_av")
SELECTION_FILE = "selection.json"
STAGES = ("shards", "decoder data", "decoder training",
          "decoder fine-tuning", "decoder identity term", "head selection",
          "head training", "predict", "package", "table")
# What each stage writes under the work folder ("package" writes the model
# folder, which it replaces whole; "table" writes `table_dir`).
STAGE_OUTPUTS = {
    "shards": ("shards",), "decoder data": ("decoder_photos", "decoder_data"),
    "decoder training": ("face_decoder",),
    "decoder fine-tuning": ("fine_tune_data", "face_decoder_fine_tuned"),
    "decoder identity term": ("face_decoder_identity",),
    "head selection": (SELECTION_FILE,), "head training": ("voice_encoder",),
    "predict": ("predict",), "package": (), "table": ("eval",)}
REDONE_DIR = "redone"  # Where `redo_from` moves what it sets aside.


@dataclasses.dataclass(frozen=True)
class FineTune:
  """The decoder's fine-tuning on predicted features (WORKSPACE.md,
  "Decoder fine-tuned on predictions")."""

  # The head that predicts each fitting clip from the other folds' speakers:
  # the choice of every head selection so far (WORKSPACE.md).
  head: tuple = (("head_hidden", 512), ("learning_rate", 1e-3),
                 ("train_steps", 800))
  folds: int = 5  # Speaker folds of the fitting clips.
  seeds: int = 3  # Predictions per clip (a head per seed and fold).
  scale: float = 1.0  # Predictions spread about the mean by this factor.
  other_faces: int = 5000  # True-feature faces drawn from the rest.
  steps: int = 3000  # Steps after the decoder's own ...
  learning_rate: float = 1e-4  # ... at a tenth of its rate.
  data_seed: int = 0  # Draws the other faces.


@dataclasses.dataclass(frozen=True)
class IdentityTune:
  """The decoder trained on with the identity term, after the fine-tuning
  and on its data (WORKSPACE.md, "dlib's network in Keras"; "The identity
  term last": fine-tuning after it without the term undid half of its gain;
  "The identity term's strength": on the validation speakers, 600 steps at
  weight 1.0 and 3e-4 lifted face -> face R@1 from 73.7 % (300 steps at
  0.3 and 1e-4) to 90.5 %, and voice 1:2 from 77.2 to 79.5 %)."""

  steps: int = 600  # Steps after the fine-tuning's (15.6 min here).
  weight: float = 1.0  # x (1 - cos) of dlib128 of the decoded face.
  jitter: float = 0.1  # The chip moved at random (face_chip.ChipSampler).
  learning_rate: float = 3e-4


@dataclasses.dataclass(frozen=True)
class Recipe:
  """What a pipeline reads, trains and writes (the defaults: the shipped
  model's recipe)."""

  pairs_dir: str = ""  # The project page's pairs folder.
  grid_dir: str = GRID_DIR  # GRID clips whose frames join the decoder's.
  extra_faces: str = ""  # A folder of more face photos for the decoder.
  extra_faces_aligned: bool = False  # ... aligned chips: no detection.
  teacher: str = face_teacher.DLIB128
  detector: str = "hog_cnn"
  workers: int = 2  # Processes of the data jobs and the table's readers.
  train_stride: int = 1  # Every n-th training clip (spread over speakers).
  train_clips: int = 0  # The first n training clips (0: all).
  test_clips: int = 0  # The first n held-out clips (0: all).
  validation: bool = True  # Validation speakers cut from the training ones.
  examples_per_shard: int = 128
  decoder_examples_per_shard: int = 512
  decoder_flips: bool = False
  decoder_config: str = "face_decoder/shipped.json"  # Under CONFIGS.
  decoder_steps: int = 0  # 0: the config's.
  identity: IdentityTune = IdentityTune()
  fine_tune: FineTune = FineTune()
  selection_grid: dict = None  # None: ge2e_head_selection's own grid.
  encoder_config: str = "voice_encoder/ge2e.json"  # Under CONFIGS.
  encoder_steps: int = 0  # 0: the config's (or the selection's).
  encoder_eval_on_test: bool = False  # The demo's held-out curve.
  bootstrap: int = 0  # 0: side_by_side's.
  attribute_models: str = ATTRIBUTE_MODELS


class Pipeline:
  """Runs a recipe's stages in a work folder; each stage's results are
  kept as attributes for the next (`shards`, `decoder_path`, `choice`,
  `encoder_run`, `model_dir`, `result`, ...)."""

  def __init__(self, recipe, out_dir, model_dir="", decoder_path="",
               train_pattern="", compare="", table_dir=""):
    """`model_dir`: the model folder `package` writes and `table` judges
    ("" before packaging: the voice encoder's run; with neither, the model
    that ships with s2f); `decoder_path`, `train_pattern`: what the decoder
    and shard stages would give, for lists that skip them; `compare`: a
    second model for the table; `table_dir`: where the table goes
    (default OUT/eval)."""
    self.recipe = recipe
    self.out = out_dir
    os.makedirs(out_dir, exist_ok=True)
    self.model_dir = model_dir
    self.decoder_path = decoder_path
    self.train_pattern = train_pattern
    self.compare = compare
    self.table_dir = table_dir or self.path("eval")
    self.encoder_run = ""
    self.encoder_config = None
    self.shard_summary = self.shards = self.faces = None
    self.choice = self.result = None
    self.figures = {}
    self.face_png = ""
    self.fine_tune_examples = 0

  def path(self, *names):
    return os.path.join(self.out, *names)

  @functools.cached_property
  def splits(self):
    """{"train", "test", "fit", "validation"}: the pairs' clips (specs) of
    the recipe's sizes; "fit" is "train" less the validation speakers
    (read when a stage first needs them)."""
    from data_prep import pairs_data  # pylint: disable=g-import-not-at-top
    recipe = self.recipe
    train, test = pairs_data.split_specs(recipe.pairs_dir)
    train = train[::recipe.train_stride][:recipe.train_clips or None]
    fit, validation = train, []
    if recipe.validation:
      fit, validation = pairs_data.validation_split(train)
      validation = [s._replace(split="validation") for s in validation]
    return {"train": train, "test": test[:recipe.test_clips or None],
            "fit": fit, "validation": validation}

  @functools.cached_property
  def decoder_config(self):
    from s2f_tf import train_config  # pylint: disable=g-import-not-at-top
    return train_config.DecoderTrainConfig.load(
        os.path.join(CONFIGS, self.recipe.decoder_config))

  @property
  def decoder_steps(self):
    return self.recipe.decoder_steps or self.decoder_config.train_steps

  @functools.cached_property
  def mean_feature(self):
    """The training clips' mean teacher feature (the fine-tuning data's
    centre and the packaged model's)."""
    from s2f_tf import input_pipeline  # pylint: disable=g-import-not-at-top
    return input_pipeline.mean_feature(self.train_pattern, self.recipe.teacher)

  def redo_from(self, stage):
    """Moves the outputs of `stage` and of every later stage (STAGES'
    order) to OUT/redone/N/, so that the next `run` redoes them from what
    the earlier stages left; returns the stages set aside. Nothing is
    deleted: a run that changed its mind moves the folder back."""
    if stage not in STAGES:
      raise ValueError(f"unknown stage {stage!r}; stages: {STAGES}")
    stages = STAGES[STAGES.index(stage):]
    names = [n for s in stages for n in STAGE_OUTPUTS[s]
             if os.path.exists(self.path(n))]
    if "table" in stages and self.table_dir != self.path("eval") and (
        os.path.exists(self.table_dir)):
      raise ValueError(f"the table folder {self.table_dir} is outside the "
                       f"work folder: move it aside by hand")
    if names:
      redone = self.path(REDONE_DIR)
      os.makedirs(redone, exist_ok=True)
      number = 1 + max([int(n) for n in os.listdir(redone) if n.isdigit()],
                       default=0)
      aside = os.path.join(redone, str(number))
      os.makedirs(aside)
      for name in names:
        os.replace(self.path(name), os.path.join(aside, name))
    return stages

  def run(self, stages, on_done=None, on_start=None):
    """Runs `stages` (names from STAGES) in order; before each,
    `on_start(stage)`, after each `on_done(stage, note)` (a one-line
    summary of what it made)."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
      raise ValueError(f"unknown stage(s) {unknown}; stages: {STAGES}")
    for stage in stages:
      if on_start:
        on_start(stage)
      note = getattr(self, "_" + stage.replace(" ", "_").replace("-", "_"))()
      if on_done:
        on_done(stage, note or "")
    return self

  # The stages, one method each (named after the stage).

  def _shards(self):
    # pylint: disable=g-import-not-at-top
    from data_prep import prepare_shards_lib
    from data_prep import shard_options
    # pylint: enable=g-import-not-at-top
    recipe = self.recipe
    splits = self.splits
    summary = prepare_shards_lib.run(
        splits["fit"] + splits["validation"] + splits["test"],
        shard_options.ShardOptions(
            output_dir=self.path("shards"),
            examples_per_shard=recipe.examples_per_shard,
            teacher=recipe.teacher),
        prepare_shards_lib.model_loader(detector=recipe.detector,
                                        teacher=recipe.teacher),
        prepare_shards_lib.local_options(recipe.workers))
    self.shard_summary, self.shards = summary, summary["splits"]
    self.train_pattern = self.shards["train"]["pattern"]
    return (f"{self.shards['train']['examples']} train, "
            f"{self.shards['test']['examples']} test, skipped "
            f"{summary['skipped']}")

  def _decoder_data(self):
    # pylint: disable=g-import-not-at-top
    from data_prep import pairs_data
    from data_prep import prepare_decoder_data_lib as lib
    # pylint: enable=g-import-not-at-top
    recipe = self.recipe
    photos = pairs_data.decoder_photos(
        self.splits["fit"], self.path("decoder_photos"), recipe.grid_dir,
        recipe.extra_faces)
    summary = lib.run(
        self.path("decoder_photos"), lib.DecoderDataOptions(
            output_dir=self.path("decoder_data"), teacher=recipe.teacher,
            examples_per_shard=recipe.decoder_examples_per_shard,
            flips=recipe.decoder_flips,
            aligned_dirs=((pairs_data.EXTRA_FACES,)
                          if recipe.extra_faces_aligned else ())),
        functools.partial(lib.load_models, recipe.detector,
                          teacher=recipe.teacher), workers=recipe.workers)
    self.faces = summary["examples"]
    return f"{self.faces} faces from {photos} photos"

  def _decoder_training(self):
    from s2f_tf import face_decoder_trainer  # pylint: disable=g-import-not-at-top
    face_decoder_trainer.train(self.decoder_config.replace(
        data_dir=self.path("decoder_data"), train_steps=self.decoder_steps),
                               self.path("face_decoder"))
    self.decoder_path = face_decoder_trainer.exported(
        self.path("face_decoder"))

  def _decoder_identity_term(self):
    from s2f_tf import face_decoder_trainer  # pylint: disable=g-import-not-at-top
    identity = self.recipe.identity
    face_decoder_trainer.train(self.decoder_config.replace(
        data_dir=self.path("fine_tune_data"),
        warm_start=self.path("face_decoder_fine_tuned"),
        train_steps=(self.decoder_steps + self.recipe.fine_tune.steps +
                     identity.steps),
        learning_rate=identity.learning_rate,
        identity_weight=identity.weight, identity_jitter=identity.jitter),
                               self.path("face_decoder_identity"))
    self.decoder_path = face_decoder_trainer.exported(
        self.path("face_decoder_identity"))

  def _decoder_fine_tuning(self):
    # pylint: disable=g-import-not-at-top
    from data_prep import cross_fitted_predictions
    from data_prep import fine_tune_data
    from data_prep import pairs_data
    from s2f_tf import face_decoder_trainer
    from tfrecords_schema import shard_summary
    # pylint: enable=g-import-not-at-top
    fine_tune = self.recipe.fine_tune
    data_dir = self.path("fine_tune_data")
    if shard_summary.read(data_dir) is None:
      predicted = cross_fitted_predictions.predictions(
          self.path("shards"), self.decoder_path, dict(fine_tune.head),
          fine_tune.folds, fine_tune.seeds, teacher=self.recipe.teacher)
      frames = {spec.clip_id: pairs_data.decoder_photo_id(spec)
                for spec in self.splits["fit"]}
      fine_tune_data.write(
          self.path("decoder_data"),
          {frames[clip]: p for clip, p in predicted.items()}, data_dir,
          fine_tune.other_faces, pairs_data.PAIRS_PHOTOS + os.sep,
          fine_tune.scale, self.mean_feature, fine_tune.data_seed)
    face_decoder_trainer.train(self.decoder_config.replace(
        data_dir=data_dir, warm_start=self.path("face_decoder"),
        train_steps=self.decoder_steps + fine_tune.steps,
        learning_rate=fine_tune.learning_rate),
                               self.path("face_decoder_fine_tuned"))
    self.decoder_path = face_decoder_trainer.exported(
        self.path("face_decoder_fine_tuned"))
    self.fine_tune_examples = shard_summary.read(data_dir)["examples"]
    return f"{self.fine_tune_examples} examples"

  def _head_selection(self):
    from experiments.evaluation import ge2e_head_selection  # pylint: disable=g-import-not-at-top
    selection_file = self.path(SELECTION_FILE)
    if os.path.isfile(selection_file):
      with open(selection_file) as f:
        selection = json.load(f)
    else:
      selection = ge2e_head_selection.select(
          self.path("shards"), self.decoder_path, self.recipe.attribute_models,
          workers=self.recipe.workers, **(self.recipe.selection_grid or {}))
      with open(selection_file, "w") as f:
        json.dump(selection, f, indent=2)
    self.choice = selection["choice"]
    return ", ".join(f"{k} {v}" for k, v in self.choice.items())

  def _head_training(self):
    # pylint: disable=g-import-not-at-top
    from s2f_tf import train_config
    from s2f_tf import voice_encoder_trainer
    # pylint: enable=g-import-not-at-top
    recipe = self.recipe
    config = train_config.TrainConfig.load(os.path.join(
        CONFIGS, recipe.encoder_config)).replace(
            train_pattern=self.train_pattern, decoder_path=self.decoder_path)
    if recipe.encoder_eval_on_test:
      config = config.replace(eval_pattern=self.shards["test"]["pattern"])
    if self.choice:
      config = config.replace(head_hidden=self.choice["head_hidden"],
                              learning_rate=self.choice["learning_rate"],
                              train_steps=self.choice["train_steps"])
    if recipe.encoder_steps:
      config = config.replace(train_steps=recipe.encoder_steps)
    self.encoder_config = config
    self.encoder_run = self.path("voice_encoder")
    voice_encoder_trainer.train(config, self.encoder_run)

  def _predict(self):
    from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
    clip = self.splits["test"][0]
    model = speech_to_face.SpeechToFace.from_workdir(self.encoder_run)
    feature, image = model.predict_file(clip.media_path)
    self.face_png = self.path("predict", "face.png")
    speech_to_face.write_outputs(feature, image, self.face_png)
    return f"held-out voice {clip.clip_id}"

  def _package(self):
    from s2f_tf import model_package  # pylint: disable=g-import-not-at-top
    model_package.package_model(
        self.encoder_run, self.decoder_path, self.model_dir,
        output_scale=self.choice["output_scale"],
        feature_mean=self.mean_feature)
    self.decoder_path = ""  # The table reads the folder's own decoder.

  def _table(self):
    from experiments.evaluation import real_pairs  # pylint: disable=g-import-not-at-top
    recipe = self.recipe
    self.result, self.figures = real_pairs.run(
        self.model_dir or self.encoder_run, self.decoder_path,
        recipe.pairs_dir, recipe.attribute_models, self.train_pattern,
        workers=recipe.workers, limit=recipe.test_clips, compare=self.compare,
        **({"bootstrap": recipe.bootstrap} if recipe.bootstrap else {}))
    write_table(self.table_dir, self.result, self.figures)


def write_table(out_dir, result, figures):
  """The real-pairs table's outputs in `out_dir`: the result's JSON, its
  markdown table and the figures (PNG)."""
  # pylint: disable=g-import-not-at-top
  import cv2
  from experiments.evaluation import pairs_table
  from experiments.evaluation import real_pairs
  # pylint: enable=g-import-not-at-top
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, real_pairs.RESULT_FILE), "w") as f:
    json.dump(result, f, indent=2, default=float)
  with open(os.path.join(out_dir, real_pairs.TABLE_FILE), "w") as f:
    f.write(pairs_table.markdown_table(result) + "\n")
  for name, image in figures.items():
    cv2.imwrite(os.path.join(out_dir, f"real_pairs_{name}.png"),
                cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
