r"""Training binary of the voice encoder: flags -> TrainConfig -> voice_encoder_trainer.train.

  python experiments/train.py --workdir=/tmp/s2f \
      --config=experiments/configs/voice_encoder/paper.json \
      --train_pattern='/data/shards/train-*.tfrecord' \
      --eval_pattern='/data/shards/test-*.tfrecord'

Every TrainConfig leaf (data / model / optimizer / loop / runtime) is also
a flag of the same name that overrides the config file.
"""

from experiments import training_binary
from s2f_tf import train_config

run = training_binary.binary(train_config.TrainConfig,
                             "voice_encoder/paper.json",
                             "s2f_tf.voice_encoder_trainer", __doc__)

if __name__ == "__main__":
  run()
