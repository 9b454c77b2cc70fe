r"""The spread over encoder seeds of the chosen ge2e head, each seed's model judged once on the test split.

  python -m experiments.ge2e_seed_spread --shards SHARDS_DIR \
      --decoder DECODER.keras --selection selection.json --out spread.json

The choice (width, learning rate, steps, output scale) comes from
`select_ge2e_head` on validation speakers and is not changed here: the head
is retrained on the cached d-vectors with each --seeds value and its faces
(decoded at the chosen output scale) and predicted features are scored on
--split (gender agreement and 1:2, the selection's scores). Prints one line
per seed and the range.
"""

import json
import os

from absl import flags

from experiments.evaluation import ge2e_head_selection as lib
from s2f_tf import console

flags.DEFINE_string("shards", None, "Shard job output (summary.json).",
                    required=True)
flags.DEFINE_string("decoder", None, "The frozen face decoder (.keras).",
                    required=True)
flags.DEFINE_string("selection", None, "select_ge2e_head's --out JSON.",
                    required=True)
flags.DEFINE_string("split", "test", "The split each seed is judged on.")
flags.DEFINE_list("seeds", [str(s) for s in lib.SEEDS], "Encoder seeds.")
flags.DEFINE_string("attribute_models", os.path.join(
    os.path.dirname(__file__), "demo_data", "models", "dlib_age_gender"),
                    "Folder of the CC0 age / gender ONNX networks.")
flags.DEFINE_string("out", "", "Write the per-seed scores here (JSON).")
flags.DEFINE_integer("workers", 2, "Processes reading face images.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  for name in ("shards", "selection", "decoder"):
    console.require_path(name, FLAGS[name].value,
                         "dir" if name == "shards" else "file")
  with open(FLAGS.selection) as f:
    choice = json.load(f)["choice"]
  result = lib.seed_spread(FLAGS.shards, FLAGS.decoder,
                           FLAGS.attribute_models, choice, FLAGS.split,
                           [int(s) for s in FLAGS.seeds],
                           workers=FLAGS.workers)
  for space in ("image", "feature"):
    for metric in ("gender_agreement", "matching"):
      values = [s[space][metric] for s in result["seeds"]]
      print(f"{space} {metric}: " + " / ".join(f"{v:.1f}" for v in values)
            + f" (range {max(values) - min(values):.1f} points)")
  console.write_json(FLAGS.out, result)


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
