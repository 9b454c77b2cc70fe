r"""Face-decoder training binary: flags -> DecoderTrainConfig -> face_decoder_trainer.train.

  python experiments/train_face_decoder.py --workdir=/tmp/decoder \
      --data_dir=/data/decoder

Every DecoderTrainConfig leaf is also a flag that overrides the config file.
"""

import os

from experiments import training_binary
from s2f_tf import train_config

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "configs", "face_decoder")

run = training_binary.binary(train_config.DecoderTrainConfig,
                             os.path.join(CONFIG_DIR, "default.json"),
                             "s2f_tf.face_decoder_trainer", __doc__)

if __name__ == "__main__":
  run()
