r"""Chooses the ge2e encoder's head (width, learning rate, steps, output scale) on validation speakers only.

  python -m experiments.select_ge2e_head --shards SHARDS_DIR \
      --decoder DECODER.keras --out selection.json

SHARDS_DIR is a shard job's output with a `validation` split (training
speakers held out by `pairs_data.validation_split`); the test split is
never read. The backbone is frozen, so each clip's GE2E d-vector (of the
training segment, as the trainer sees it) is computed once and cached, and
heads of every candidate are trained on the `train` split with Eq. 1
against the frozen decoder's f_dec and the trainer's Adam. Candidates are
scored on the validation clips in the teacher's space (gender by a
classifier fitted on the training faces, 1:2 against the validation faces'
features): the score is the mean of gender agreement and 1:2. For the best
head, the output scale (`ge2e_encoder.rescale_output`) is chosen by the
same score read from the decoded *images*. Prints the `s2f-train` flags of
the choice.
"""

import json
import os

from absl import flags

from experiments.evaluation import ge2e_head_selection as lib
from s2f_tf import console

flags.DEFINE_string("shards", None, "Shard job output (summary.json with "
                    "train and validation splits).", required=True)
flags.DEFINE_string("decoder", None, "The frozen face decoder (.keras).",
                    required=True)
flags.DEFINE_string("attribute_models", os.path.join(
    os.path.dirname(__file__), "demo_data", "models", "dlib_age_gender"),
                    "Folder of the CC0 age / gender ONNX networks.")
flags.DEFINE_string("out", "", "Write every candidate's scores here (JSON).")
flags.DEFINE_string("cache", "", "d-vector cache (.npz; default beside "
                    "--shards).")
flags.DEFINE_list("widths", [str(w) for w in lib.WIDTHS],
                  "Head hidden widths.")
flags.DEFINE_list("learning_rates", [str(r) for r in lib.LEARNING_RATES],
                  "Adam learning rates.")
flags.DEFINE_list("steps", [str(s) for s in lib.STEPS],
                  "Steps at which each head is scored.")
flags.DEFINE_list("scales", [str(k) for k in lib.SCALES],
                  "Output scales tried on the best head.")
flags.DEFINE_integer("batch_size", 32, "Clips per step.")
flags.DEFINE_integer("seed", 0, "Initialisation and batch seed.")
flags.DEFINE_integer("workers", 2, "Processes reading face images.")
FLAGS = flags.FLAGS

def main(argv):
  del argv
  result = lib.select(FLAGS.shards, FLAGS.decoder, FLAGS.attribute_models,
                      FLAGS.widths, FLAGS.learning_rates, FLAGS.steps,
                      FLAGS.scales, FLAGS.batch_size, FLAGS.seed,
                      FLAGS.workers, FLAGS.cache)
  print("\nChosen on validation speakers:", json.dumps(result["choice"]))
  console.write_json(FLAGS.out, result)


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
