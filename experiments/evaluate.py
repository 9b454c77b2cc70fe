r"""Evaluation binary: flags -> EvalConfig -> evaluation_lib.evaluate.

  python experiments/evaluate.py --workdir=/tmp/s2f --out_dir=/tmp/s2f/eval \
      --test_pattern='/data/shards/test-*.tfrecord' \
      --decoder_path=/tmp/decoder/export/face_decoder.keras \
      [--attribute_models=/models/attributes] [--ablations=noBN=/tmp/s2f_nobn]

Across N workers (one process or machine each; any order; a rerun skips
finished shares), then once to merge and compute the metrics:

  python experiments/evaluate.py ... --num_workers=N --worker_index=i
  python experiments/evaluate.py ... --num_workers=N

Every EvalConfig field is a flag; a --config JSON may set them too.
"""

from absl import flags

from experiments.evaluation import eval_config
from s2f_tf import console
from s2f_tf import run_config

flags.DEFINE_string("config", "", "Optional EvalConfig JSON.")
run_config.define_flags(eval_config.EvalConfig)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = run_config.from_flags(eval_config.EvalConfig, FLAGS.config)
  from experiments.evaluation import evaluation_lib  # pylint: disable=g-import-not-at-top
  results = evaluation_lib.evaluate(config)
  if config.worker_index >= 0:
    print(f"Worker {config.worker_index} of {config.num_workers}: wrote its "
          f"predictions under {config.out_dir}/predictions; when every "
          "worker is done, run again with --worker_index=-1 to merge")
    return
  print(f"Report: {config.out_dir}/{evaluation_lib.REPORT_FILE} "
        f"({results['examples']} test clips)")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
