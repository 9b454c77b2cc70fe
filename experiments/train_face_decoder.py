r"""Face-decoder training binary: flags -> DecoderTrainConfig -> face_decoder_trainer.train.

  python experiments/train_face_decoder.py --workdir=/tmp/decoder \
      --data_dir=/data/decoder

Every DecoderTrainConfig leaf is also a flag that overrides the config file.
"""

from experiments import training_binary
from s2f_tf import train_config

run = training_binary.binary(train_config.DecoderTrainConfig,
                             "face_decoder/default.json",
                             "s2f_tf.face_decoder_trainer", __doc__)

if __name__ == "__main__":
  run()
