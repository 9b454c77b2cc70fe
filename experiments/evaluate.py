r"""Evaluation binary: flags -> EvalConfig -> evaluation_lib.evaluate.

  python experiments/evaluate.py --workdir=/tmp/s2f --out_dir=/tmp/s2f/eval \
      --test_pattern='/data/shards/test-*.tfrecord' \
      --decoder_path=/tmp/decoder/export/face_decoder.keras \
      [--attribute_models=/models/attributes] [--ablations=noBN=/tmp/s2f_nobn]

Every EvalConfig field is a flag; a --config JSON may set them too.
"""

from absl import flags

from experiments import evaluation_lib
from s2f_tf import console
from s2f_tf import run_config

flags.DEFINE_string("config", "", "Optional EvalConfig JSON.")
run_config.define_flags(evaluation_lib.EvalConfig)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = run_config.from_flags(evaluation_lib.EvalConfig, FLAGS.config)
  results = evaluation_lib.evaluate(config)
  print(f"Report: {config.out_dir}/{evaluation_lib.REPORT_FILE} "
        f"({results['examples']} test clips)")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
