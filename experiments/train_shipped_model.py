r"""Retrains the model that ships with s2f, from the paper's public pairs and a folder of extra faces.

  python -m experiments.train_shipped_model --pairs_dir PAIRS \
      --extra_faces UTKFACE_DIR --out_dir WORK [--model_dir DIR]

The recipe is `stage_pipeline.Recipe`'s defaults; its stages (`STAGES`,
run by `stage_pipeline.Pipeline`), each resumable (rerun the same command;
finished shards, data shards and checkpoints are kept):
1. speech/face shards of the committed split, the training speakers cut
   into `train` and `validation` (`pairs_data.validation_split`);
2. face-decoder data from the fitting speakers' frames, the GRID frames
   and every image under --extra_faces (never a validation or held-out
   speaker's face; `--extra_faces_aligned`: they are aligned face chips,
   read without face detection);
3. the `small` face decoder (configs/face_decoder/shipped.json), then
   fine-tuned on the fitting clips' frames paired with the voice's
   cross-fitted predictions of them (`FineTune`; WORKSPACE.md), then
   trained on those with Cole et al.'s identity term through dlib's
   network in Keras (`IdentityTune`);
4. the ge2e head's width, learning rate, steps and output scale, chosen on
   the validation speakers (`ge2e_head_selection`);
5. the head trained with Eq. 1 against the frozen decoder
   (configs/voice_encoder/ge2e.json + the choice);
6. the model folder (--model_dir, default the shipped one), the
   real-pairs table on the held-out speakers (WORK/eval), the stage
   record (`stage_record.json`: each stage's seconds, the commit, the CPU,
   the seeds and every count) and the model card, written from that
   record and the table.
Each stage's wall time is added to WORK/stage_seconds.json (over resumes).
After a change to the recipe from one stage on, `--redo_from STAGE` moves
that stage's and every later stage's outputs to WORK/redone/N/ and drops
their times, so the rerun keeps the earlier stages and redoes the rest.
`--tiny` is the same run in minutes, for tests: every 20th training clip,
14 held-out clips, 20 decoder steps (+ 10 fine-tuning + 2 with the
identity term), one head candidate of 4 steps, 50 bootstrap samples.
"""

import dataclasses
import os

from absl import app
from absl import flags

from experiments.app import stage_pipeline
from s2f_tf import console
from s2f_tf import progress

flags.DEFINE_string("pairs_dir", None, "The project page's pairs folder.",
                    required=True)
flags.DEFINE_string("extra_faces", "", "A folder of more face photos for the "
                    "decoder (e.g. UTKFace's aligned crops).")
flags.DEFINE_bool("extra_faces_aligned", False, "--extra_faces are aligned "
                  "face chips (UTKFace's): read without face detection.")
flags.DEFINE_string("grid_dir", stage_pipeline.GRID_DIR,
                    "GRID clips whose frames join the decoder's faces.")
flags.DEFINE_string("out_dir", None, "Work folder (shards, runs, tables).",
                    required=True)
flags.DEFINE_string("model_dir", "", "Model folder to write (default: the "
                    "one that ships with s2f).")
flags.DEFINE_integer("decoder_steps", 0, "Face-decoder steps (0: "
                     "configs/face_decoder/shipped.json's).")
flags.DEFINE_integer("workers", 2, "Processes for the data jobs.")
flags.DEFINE_bool("tiny", False, "A smoke run of minutes (tests): every "
                  "20th training clip, 14 held-out clips, 20 decoder steps, "
                  "one head candidate.")
flags.DEFINE_enum("redo_from", None, list(stage_pipeline.STAGES),
                  "Redo this stage and every later one: their outputs are "
                  "moved to OUT_DIR/redone/N/ and their times dropped "
                  "(for a recipe changed from that stage on).")
FLAGS = flags.FLAGS
STAGE_FILE = "stage_seconds.json"
RECORD_FILE = "stage_record.json"  # Beside the weights in the model folder.
# The recipe's stages (stage_pipeline.STAGES), each timed into STAGE_FILE.
STAGES = ("shards", "decoder data", "decoder training",
          "decoder fine-tuning", "decoder identity term", "head selection",
          "head training", "package", "table")
RECIPE = stage_pipeline.Recipe()  # The shipped model's recipe: the defaults.
TINY = dataclasses.replace(
    RECIPE, train_stride=20, test_clips=14, decoder_steps=20, bootstrap=50,
    selection_grid={"widths": (0,), "learning_rates": (1e-3,),
                    "steps": (4,), "scales": (1.0, 2.0)},
    fine_tune=stage_pipeline.FineTune(
        head=(("head_hidden", 0), ("learning_rate", 1e-3),
              ("train_steps", 4)),
        folds=2, seeds=1, other_faces=8, steps=10),
    identity=stage_pipeline.IdentityTune(steps=2))


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  if FLAGS.tiny and not FLAGS.model_dir:
    raise app.UsageError("--tiny needs --model_dir: a smoke run never "
                         "replaces the shipped model")
  # pylint: disable=g-import-not-at-top
  from experiments.evaluation import model_card
  from experiments.evaluation import pairs_table
  from s2f_tf import speech_to_face
  # pylint: enable=g-import-not-at-top
  recipe = dataclasses.replace(
      TINY if FLAGS.tiny else RECIPE, pairs_dir=FLAGS.pairs_dir,
      grid_dir=FLAGS.grid_dir, extra_faces=FLAGS.extra_faces,
      extra_faces_aligned=FLAGS.extra_faces_aligned, workers=FLAGS.workers)
  if FLAGS.decoder_steps:
    recipe = dataclasses.replace(recipe, decoder_steps=FLAGS.decoder_steps)
  model_dir = FLAGS.model_dir or speech_to_face.SHIPPED_MODEL_DIR
  pipeline = stage_pipeline.Pipeline(recipe, FLAGS.out_dir, model_dir)
  times = progress.StageTimes(os.path.join(FLAGS.out_dir, STAGE_FILE))
  if FLAGS.redo_from:
    times.forget(pipeline.redo_from(FLAGS.redo_from))
  pipeline.run(STAGES, lambda stage, note: times.done(stage), times.begin)

  decoder_config, shards = pipeline.decoder_config, pipeline.shards
  record = {
      "commit": _commit(), "cpu": progress.cpu_description(),
      "stage_seconds": times.seconds,
      "total_minutes": round(times.seconds["total"] / 60, 1),
      "seeds": {"decoder": decoder_config.seed,
                "head": pipeline.encoder_config.seed, "head_selection": 0,
                "cross_fitting": list(range(recipe.fine_tune.seeds)),
                "fine_tune_data": recipe.fine_tune.data_seed},
      "train": shards["train"]["examples"],
      "validation": shards["validation"]["examples"],
      "test": shards["test"]["examples"], "faces": pipeline.faces,
      "decoder_steps": pipeline.decoder_steps,
      "decoder_batch": decoder_config.batch_size,
      "identity_steps": recipe.identity.steps,
      "identity_weight": recipe.identity.weight,
      "identity_jitter": recipe.identity.jitter,
      "fine_tune_steps": recipe.fine_tune.steps,
      "fine_tune_examples": pipeline.fine_tune_examples,
      "predictions": recipe.fine_tune.seeds, "choice": pipeline.choice}
  console.write_json(os.path.join(model_dir, RECORD_FILE), record)
  table = pairs_table.markdown_table(pipeline.result)
  with open(os.path.join(model_dir, "MODEL_CARD.md"), "w") as f:
    f.write(model_card.card(record, table))
  print(table)
  print(f"\nModel folder {model_dir}")


def _commit():
  """The repository's commit (+ '-dirty' with uncommitted changes), or
  'unknown' outside a git checkout."""
  import subprocess  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(stage_pipeline.HERE)
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
