r"""Packages a trained voice encoder and its face decoder into one model folder.

  python -m experiments.package_model --encoder_run RUN \
      --decoder DECODER.keras [--out_dir DIR] [--model_card CARD.md]

The folder (config.json, an encoder checkpoint without optimizer state, the
face decoder, the model card) is what `s2f predict|serve|export
--checkpoint DIR` loads; the default --out_dir replaces the model that ships
with s2f (s2f_tf/models/weights/shipped/).
"""

import os

from absl import flags

from s2f_tf import console

flags.DEFINE_string("encoder_run", None, "Voice-encoder training workdir.",
                    required=True)
flags.DEFINE_string("decoder", None, "Its face decoder (.keras image model).",
                    required=True)
flags.DEFINE_string("out_dir", "", "Model folder to write (default: the "
                    "shipped model's, s2f_tf/models/weights/shipped).")
flags.DEFINE_multi_string("file", [], "Files to copy in (model card, "
                          "results JSON).")
flags.DEFINE_float("output_scale", 1.0, "ge2e: spread predictions about the "
                   "training features' mean by this factor (chosen on "
                   "validation speakers by experiments/select_ge2e_head.py).")
flags.DEFINE_string("train_pattern", "", "With --output_scale: the training "
                    "shards whose mean teacher feature is the centre.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  console.require_path("encoder_run", FLAGS.encoder_run, "dir")
  console.require_path("decoder", FLAGS.decoder)
  for path in FLAGS.file:
    console.require_path("file", path)
  # pylint: disable=g-import-not-at-top
  from s2f_tf import model_package
  from s2f_tf import speech_to_face
  # pylint: enable=g-import-not-at-top
  mean = None
  if FLAGS.output_scale != 1.0:
    console.require_path("train_pattern", FLAGS.train_pattern, "pattern")
    # pylint: disable=g-import-not-at-top
    from s2f_tf import input_pipeline
    from s2f_tf import run_record
    from s2f_tf import train_config
    # pylint: enable=g-import-not-at-top
    teacher = train_config.TrainConfig.load(os.path.join(
        FLAGS.encoder_run, run_record.CONFIG_FILE)).teacher
    mean = input_pipeline.mean_feature(FLAGS.train_pattern, teacher)
  out = model_package.package_model(
      FLAGS.encoder_run, FLAGS.decoder,
      FLAGS.out_dir or speech_to_face.SHIPPED_MODEL_DIR, FLAGS.file,
      FLAGS.output_scale, mean)
  print(f"Model folder {out}")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
