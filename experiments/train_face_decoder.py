r"""Face-decoder training binary: flags -> DecoderTrainConfig -> face_decoder_trainer.

  python experiments/train_face_decoder.py --workdir=/tmp/decoder \
      --data_dir=/data/decoder
"""

import os

from absl import flags

from s2f_tf import console
from s2f_tf import face_decoder_trainer
from s2f_tf import run_config

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "configs", "face_decoder")

flags.DEFINE_string("workdir", None, "Run directory (resumed if it exists).",
                    required=True)
flags.DEFINE_string("config", os.path.join(CONFIG_DIR, "default.json"),
                    "JSON config; flags below override its fields.")
run_config.define_flags(face_decoder_trainer.DecoderTrainConfig)
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = run_config.from_flags(face_decoder_trainer.DecoderTrainConfig,
                                 FLAGS.config)
  face_decoder_trainer.train(config, FLAGS.workdir)


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
