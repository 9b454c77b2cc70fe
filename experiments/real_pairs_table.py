r"""The real-pairs side-by-side table for one model: s2f beside the paper's faces on the held-out speakers.

  python -m experiments.real_pairs_table --pairs_dir PAIRS --out_dir OUT \
      [--checkpoint MODEL_OR_RUN] [--compare MODEL_OR_RUN] \
      [--train_pattern SHARDS]

Without --checkpoint it judges the model that ships with s2f. Without
--train_pattern the training speakers' clips are read from the pairs
folder itself (the constant face, the linear control and the teacher-space
reader need them), so a pairs folder is all it takes. Writes
real_pairs.json, real_pairs_table.md and the two 16-speaker figures
(voice: true | paper | s2f; f2f: true | paper f2f | s2f f2f) into --out_dir.
"""

import os

from absl import flags

from s2f_tf import console

flags.DEFINE_string("pairs_dir", None, "The project page's pairs folder.",
                    required=True)
flags.DEFINE_string("out_dir", None, "Where the table and figures go.",
                    required=True)
flags.DEFINE_string("checkpoint", "", "Voice-encoder workdir or model folder "
                    "(default: the model that ships with s2f).")
flags.DEFINE_string("decoder", "", "Face decoder .keras (default: the "
                    "model's own).")
flags.DEFINE_string("compare", "", "A second model (workdir or model "
                    "folder, with its own decoder) judged on the same clips "
                    "beside it, e.g. the demo's table1-path encoder.")
flags.DEFINE_string("train_pattern", "", "Training shards (default: read the "
                    "training clips from --pairs_dir).")
flags.DEFINE_string("attribute_models", os.path.join(
    os.path.dirname(__file__), "demo_data", "models", "dlib_age_gender"),
                    "Folder of the CC0 age / gender ONNX networks.")
flags.DEFINE_integer("workers", 2, "Processes reading face images.")
flags.DEFINE_integer("bootstrap", 1000, "Speaker resamplings.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  for name in ("checkpoint", "compare"):
    if FLAGS[name].value:
      console.require_path(name, FLAGS[name].value, "dir")
  # pylint: disable=g-import-not-at-top
  from experiments.app import stage_pipeline
  from experiments.evaluation import pairs_table
  # pylint: enable=g-import-not-at-top
  recipe = stage_pipeline.Recipe(
      pairs_dir=FLAGS.pairs_dir, attribute_models=FLAGS.attribute_models,
      workers=FLAGS.workers, bootstrap=FLAGS.bootstrap)
  pipeline = stage_pipeline.Pipeline(
      recipe, FLAGS.out_dir, model_dir=FLAGS.checkpoint,
      decoder_path=FLAGS.decoder, train_pattern=FLAGS.train_pattern,
      compare=FLAGS.compare, table_dir=FLAGS.out_dir).run(["table"])
  table = pairs_table.markdown_table(pipeline.result)
  print(table)
  print("\nEvery face is an average-looking face correlated with a voice, "
        "never an identity.")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
