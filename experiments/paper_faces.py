r"""Measures the paper's own published faces on its public pairs, no s2f model involved.

  python -m experiments.paper_faces --pairs_dir=speech2face.github.io \
      --attribute_models=experiments/demo_data/models/dlib_age_gender

The Speech2Face project page's Face_exg0 (from the voice) and Face_f2f (from
the true face) of every clip of one set, judged by the same instruments and
metrics as the real-pairs table. Writes JSON and prints the Markdown table.
"""

import json

from absl import flags

from experiments.evaluation import pairs_table
from experiments.evaluation import real_pairs
from s2f_tf import console

flags.DEFINE_string("pairs_dir", None, "The project page's pairs.",
                    required=True)
flags.DEFINE_string("attribute_models", None, "Folder of the CC0 age/gender "
                    "ONNX networks (manifest.json).", required=True)
flags.DEFINE_enum("dataset", "avspeech", ["avspeech", "voxceleb"],
                  "Which set of the project page.")
flags.DEFINE_string("out", "paper_faces.json", "JSON of the result.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  console.require_path("attribute_models", FLAGS.attribute_models, "dir")
  result = real_pairs.paper_rows(FLAGS.pairs_dir, FLAGS.attribute_models,
                                 FLAGS.dataset)
  with open(FLAGS.out, "w") as f:
    json.dump(result, f, indent=2, default=float)
  print(f"{result['clips']} {FLAGS.dataset} clips of {result['speakers']} "
        f"speakers; true faces read as {result['true_gender']}\n")
  print(pairs_table.markdown_table(result))


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
