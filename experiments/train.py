r"""Training binary of the voice encoder: flags -> TrainConfig -> trainer.train.

  python experiments/train.py --workdir=/tmp/s2f \
      --config=experiments/configs/paper.json \
      --train_pattern='/data/shards/train-*.tfrecord' \
      --eval_pattern='/data/shards/test-*.tfrecord'

Every TrainConfig field is also a flag that overrides the config file.
"""

import os

from absl import flags

from s2f_tf import console
from s2f_tf import run_config
from s2f_tf import strategy as strategy_lib
from s2f_tf import train_config
from s2f_tf import trainer

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "configs", "voice_encoder")

flags.DEFINE_string("workdir", None, "Run directory (resumed if it exists).",
                    required=True)
flags.DEFINE_string("config", os.path.join(CONFIG_DIR, "paper.json"),
                    "JSON config; flags below override its fields.")
flags.DEFINE_integer("num_cpu_devices", 0,
                     "Split the CPU into this many logical devices (tests).")
run_config.define_flags(train_config.TrainConfig)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  if FLAGS.num_cpu_devices:
    strategy_lib.split_cpu(FLAGS.num_cpu_devices)
  trainer.train(run_config.from_flags(train_config.TrainConfig, FLAGS.config),
                FLAGS.workdir)


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
