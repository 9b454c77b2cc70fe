r"""Retrains the model that ships with s2f, from the paper's public pairs and a folder of extra faces.

  python -m experiments.train_shipped_model --pairs_dir PAIRS \
      --extra_faces UTKFACE_DIR --out_dir WORK [--model_dir DIR]

Stages, each resumable (rerun the same command; finished shards, data
shards and checkpoints are kept):
1. speech/face shards of the committed split, the training speakers cut
   into `train` and `validation` (`pairs_data.validation_split`);
2. face-decoder data from the fitting speakers' frames, the GRID frames
   and every image under --extra_faces (never a validation or held-out
   speaker's face; `--extra_faces_aligned`: they are aligned face chips,
   read without face detection);
3. the `small` face decoder (configs/face_decoder/shipped.json), then
   trained on with Cole et al.'s identity term through dlib's network in
   Keras (`IdentityTune`), then fine-tuned on the fitting clips' frames
   paired with the voice's cross-fitted predictions of them (`FineTune`;
   WORKSPACE.md);
4. the ge2e head's width, learning rate, steps and output scale, chosen on
   the validation speakers (`ge2e_head_selection`);
5. the head trained with Eq. 1 against the frozen decoder
   (configs/voice_encoder/ge2e.json + the choice);
6. the model folder (--model_dir, default the shipped one) with its stage
   record (`stage_record.json`: each stage's seconds, the commit, the CPU,
   the seeds and every count) and its model card, written from that record
   with the real-pairs table on the held-out speakers.
Each stage's wall time is added to WORK/stage_seconds.json (over resumes).
`--tiny` is the same run in minutes, for tests: every 20th training clip,
14 held-out clips, 20 decoder steps (+ 2 with the identity term + 10
fine-tuning), one head candidate of 4 steps, 50 bootstrap samples.
"""

import dataclasses
import functools
import json
import os

from absl import app
from absl import flags

from s2f_tf import console
from s2f_tf import progress
from tfrecords_schema import face_teacher

HERE = os.path.dirname(os.path.abspath(__file__))
flags.DEFINE_string("pairs_dir", None, "The project page's pairs folder.",
                    required=True)
flags.DEFINE_string("extra_faces", "", "A folder of more face photos for the "
                    "decoder (e.g. UTKFace's crops).")
flags.DEFINE_bool("extra_faces_aligned", False, "--extra_faces are aligned "
                  "face chips (UTKFace's crops): read without detection.")
flags.DEFINE_string("grid_dir", os.path.join(HERE, "demo_data", "grid_av"),
                    "GRID clips whose middle frames the decoder also sees.")
flags.DEFINE_string("out_dir", None, "Work folder (shards, runs, tables).",
                    required=True)
flags.DEFINE_string("model_dir", "", "Model folder to write (default: the "
                    "shipped model's).")
flags.DEFINE_integer("decoder_steps", 0, "Face-decoder steps (0: "
                     "shipped.json's).")
flags.DEFINE_integer("workers", 2, "Processes for the data jobs.")
flags.DEFINE_bool("tiny", False, "A smoke run of minutes (tests): every "
                  "20th training clip, 14 held-out clips, 20 decoder steps, "
                  "one head candidate.")
FLAGS = flags.FLAGS
STAGE_FILE = "stage_seconds.json"
RECORD_FILE = "stage_record.json"  # Beside the weights in the model folder.


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
  """The decoder trained on with the identity term (WORKSPACE.md, "dlib's
  network in Keras": 300 steps at these values lifted face -> face R@1 on
  the validation speakers from 46.6 to 79.8 %)."""

  steps: int = 300  # Steps after the decoder's own (~0.35 steps/s here).
  weight: float = 0.3  # x (1 - cos) of dlib128 of the decoded face.
  jitter: float = 0.1  # The chip moved at random (face_chip.ChipSampler).
  learning_rate: float = 1e-4


@dataclasses.dataclass(frozen=True)
class Sizes:
  """What a run reads and tries (the defaults: the whole shipped run)."""

  train_stride: int = 1  # Every n-th training clip (spread over speakers).
  test_clips: int = 0  # The first n held-out clips (0: all).
  decoder_steps: int = 0  # 0: shipped.json's.
  selection_grid: dict = None  # None: ge2e_head_selection's own grid.
  bootstrap: int = 0  # 0: side_by_side's.
  fine_tune: FineTune = FineTune()
  identity: IdentityTune = IdentityTune()


TINY = Sizes(train_stride=20, test_clips=14, decoder_steps=20, bootstrap=50,
             selection_grid={"widths": (0,), "learning_rates": (1e-3,),
                             "steps": (4,), "scales": (1.0, 2.0)},
             fine_tune=FineTune(head=(("head_hidden", 0),
                                      ("learning_rate", 1e-3),
                                      ("train_steps", 4)),
                                folds=2, seeds=1, other_faces=8, steps=10),
             identity=IdentityTune(steps=2))

TEACHER = face_teacher.DLIB128
ATTRIBUTE_MODELS = os.path.join(HERE, "demo_data", "models",
                                "dlib_age_gender")


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  if FLAGS.tiny and not FLAGS.model_dir:
    raise app.UsageError("--tiny needs --model_dir: a smoke run never "
                         "replaces the shipped model")
  # pylint: disable=g-import-not-at-top
  from data_prep import fine_tune_data
  from data_prep import prepare_decoder_data_lib
  from data_prep import prepare_shards_lib
  from data_prep import shard_options
  from experiments.evaluation import ge2e_head_selection
  from experiments.evaluation import model_card
  from experiments.evaluation import pairs_table
  from data_prep import pairs_data
  from experiments.evaluation import real_pairs
  from s2f_tf import face_decoder_trainer
  from s2f_tf import input_pipeline
  from s2f_tf import model_package
  from s2f_tf import speech_to_face
  from s2f_tf import train_config
  from s2f_tf import voice_encoder_trainer
  from tfrecords_schema import shard_summary
  # pylint: enable=g-import-not-at-top
  out = FLAGS.out_dir
  os.makedirs(out, exist_ok=True)
  times = progress.StageTimes(os.path.join(out, STAGE_FILE))
  sizes = TINY if FLAGS.tiny else Sizes()
  train, test = pairs_data.split_specs(FLAGS.pairs_dir)
  train, test = train[::sizes.train_stride], test[:sizes.test_clips or None]
  fit, validation = pairs_data.validation_split(train)
  validation = [s._replace(split="validation") for s in validation]

  shards = prepare_shards_lib.run(
      fit + validation + test, shard_options.ShardOptions(
          output_dir=os.path.join(out, "shards"), examples_per_shard=128,
          teacher=TEACHER),
      prepare_shards_lib.model_loader(detector="hog_cnn", teacher=TEACHER),
      prepare_shards_lib.local_options(FLAGS.workers))["splits"]
  times.done("shards")

  photo_dir = os.path.join(out, "decoder_photos")
  pairs_data.decoder_photos(fit, photo_dir, FLAGS.grid_dir,
                            FLAGS.extra_faces)
  faces = prepare_decoder_data_lib.run(
      photo_dir, prepare_decoder_data_lib.DecoderDataOptions(
          output_dir=os.path.join(out, "decoder_data"), teacher=TEACHER,
          examples_per_shard=512, flips=False,
          aligned_dirs=(pairs_data.EXTRA_FACES,) if FLAGS.extra_faces_aligned
          else ()),
      functools.partial(prepare_decoder_data_lib.load_models, "hog_cnn",
                        teacher=TEACHER), workers=FLAGS.workers)["examples"]
  times.done("decoder data")

  decoder_file = os.path.join(HERE, "configs", "face_decoder", "shipped.json")
  decoder_config = train_config.DecoderTrainConfig.load(decoder_file)
  decoder_steps = (FLAGS.decoder_steps or sizes.decoder_steps or
                   decoder_config.train_steps)
  decoder_path = face_decoder_trainer.train_from_file(
      decoder_file, os.path.join(out, "decoder_data"),
      os.path.join(out, "face_decoder"), decoder_steps)
  times.done("decoder training")

  identity = sizes.identity
  face_decoder_trainer.train(decoder_config.replace(
      data_dir=os.path.join(out, "decoder_data"),
      warm_start=os.path.join(out, "face_decoder"),
      train_steps=decoder_steps + identity.steps,
      learning_rate=identity.learning_rate,
      identity_weight=identity.weight, identity_jitter=identity.jitter),
                             os.path.join(out, "face_decoder_identity"))
  decoder_path = face_decoder_trainer.exported(
      os.path.join(out, "face_decoder_identity"))
  times.done("decoder identity term")

  fine_tune = sizes.fine_tune
  fine_tune_dir = os.path.join(out, "fine_tune_data")
  if shard_summary.read(fine_tune_dir) is None:
    predicted = ge2e_head_selection.cross_fitted_predictions(
        os.path.join(out, "shards"), decoder_path, dict(fine_tune.head),
        fine_tune.folds, fine_tune.seeds)
    frames = {spec.clip_id: pairs_data.decoder_photo_id(spec) for spec in fit}
    fine_tune_data.write(
        os.path.join(out, "decoder_data"),
        {frames[clip]: p for clip, p in predicted.items()}, fine_tune_dir,
        fine_tune.other_faces, pairs_data.PAIRS_PHOTOS + os.sep,
        fine_tune.scale, input_pipeline.mean_feature(
            shards["train"]["pattern"], TEACHER), fine_tune.data_seed)
  fine_tuned = os.path.join(out, "face_decoder_fine_tuned")
  face_decoder_trainer.train(decoder_config.replace(
      data_dir=fine_tune_dir,
      warm_start=os.path.join(out, "face_decoder_identity"),
      train_steps=decoder_steps + identity.steps + fine_tune.steps,
      learning_rate=fine_tune.learning_rate), fine_tuned)
  decoder_path = face_decoder_trainer.exported(fine_tuned)
  fine_tune_examples = shard_summary.read(fine_tune_dir)["examples"]
  times.done("decoder fine-tuning")

  selection_file = os.path.join(out, "selection.json")
  if os.path.isfile(selection_file):
    with open(selection_file) as f:
      selection = json.load(f)
  else:
    selection = ge2e_head_selection.select(
        os.path.join(out, "shards"), decoder_path, ATTRIBUTE_MODELS,
        workers=FLAGS.workers, **(sizes.selection_grid or {}))
    with open(selection_file, "w") as f:
      json.dump(selection, f, indent=2)
  choice = selection["choice"]
  times.done("head selection")

  encoder_config = train_config.TrainConfig.load(os.path.join(
      HERE, "configs", "voice_encoder", "ge2e.json")).replace(
          train_pattern=shards["train"]["pattern"], decoder_path=decoder_path,
          head_hidden=choice["head_hidden"],
          learning_rate=choice["learning_rate"],
          train_steps=choice["train_steps"])
  encoder_run = os.path.join(out, "voice_encoder")
  voice_encoder_trainer.train(encoder_config, encoder_run)
  times.done("head training")

  model_dir = FLAGS.model_dir or speech_to_face.SHIPPED_MODEL_DIR
  model_package.package_model(
      encoder_run, decoder_path, model_dir,
      output_scale=choice["output_scale"],
      feature_mean=input_pipeline.mean_feature(shards["train"]["pattern"],
                                               TEACHER))
  result, figures = real_pairs.run(
      model_dir, "", FLAGS.pairs_dir, ATTRIBUTE_MODELS,
      shards["train"]["pattern"], workers=FLAGS.workers,
      limit=sizes.test_clips,
      **({"bootstrap": sizes.bootstrap} if sizes.bootstrap else {}))
  eval_dir = os.path.join(out, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  with open(os.path.join(eval_dir, real_pairs.RESULT_FILE), "w") as f:
    json.dump(result, f, indent=2, default=float)
  table = pairs_table.markdown_table(result)
  import cv2  # pylint: disable=g-import-not-at-top
  for name, image in figures.items():
    cv2.imwrite(os.path.join(eval_dir, f"real_pairs_{name}.png"),
                cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
  times.done("package and table")
  record = {
      "commit": _commit(), "cpu": progress.cpu_description(),
      "stage_seconds": times.seconds,
      "total_minutes": round(times.seconds["total"] / 60, 1),
      "seeds": {"decoder": decoder_config.seed, "head": encoder_config.seed,
                "head_selection": 0,
                "cross_fitting": list(range(fine_tune.seeds)),
                "fine_tune_data": fine_tune.data_seed},
      "train": shards["train"]["examples"],
      "validation": shards["validation"]["examples"],
      "test": shards["test"]["examples"], "faces": faces,
      "decoder_steps": decoder_steps,
      "decoder_batch": decoder_config.batch_size,
      "identity_steps": identity.steps, "identity_weight": identity.weight,
      "identity_jitter": identity.jitter,
      "fine_tune_steps": fine_tune.steps,
      "fine_tune_examples": fine_tune_examples,
      "predictions": fine_tune.seeds, "choice": choice}
  console.write_json(os.path.join(model_dir, RECORD_FILE), record)
  with open(os.path.join(model_dir, "MODEL_CARD.md"), "w") as f:
    f.write(model_card.card(record, table))
  print(table)
  print(f"\nModel folder {model_dir}")


def _commit():
  """The repository's commit (+ '-dirty' with uncommitted changes), or
  'unknown' outside a git checkout."""
  import subprocess  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(HERE)
  try:
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True)
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True,
                           text=True, check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "unknown"
  return commit.stdout.strip()[:12] + ("-dirty" if dirty else "")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
