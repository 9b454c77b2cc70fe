"""A self-contained model folder: a trained voice encoder's weights, its config and its face decoder, as `s2f` loads them.

`package_model` writes it (the shipped model is one: `speech_to_face.
SHIPPED_MODEL_DIR`); `speech_to_face.SpeechToFace.from_workdir` reads it.
"""

import os

import tensorflow as tf

from s2f_tf import run_record
from s2f_tf import speech_to_face
from s2f_tf.models import voice_encoder


def package_model(encoder_run, decoder_path, out_dir, files=(),
                  output_scale=1.0, feature_mean=None):
  """Writes a self-contained model folder `out_dir`: the run's config.json
  (decoder_path pointing at the packaged decoder), a checkpoint of the
  encoder's weights only (no optimizer state), the face decoder, and
  `files` (e.g. a model card). The folder is written beside and renamed
  into place. Returns `out_dir`.

  `output_scale` != 1 (ge2e encoders) folds v -> mean + scale (v - mean)
  into the last layer, `feature_mean` being the training features' mean;
  the config records the scale.
  """
  import shutil  # pylint: disable=g-import-not-at-top
  encoder, config = speech_to_face.load_encoder(encoder_run)
  if output_scale != 1.0:
    if not voice_encoder.takes_waveform(config.encoder):
      raise ValueError(f"--output_scale needs a ge2e encoder, not "
                       f"--encoder={config.encoder}")
    if config.output_scale != 1.0:
      raise ValueError(f"{encoder_run} is already rescaled by "
                       f"{config.output_scale}")
    if feature_mean is None:
      raise ValueError("--output_scale needs the training features' mean")
    from s2f_tf.models import ge2e_encoder  # pylint: disable=g-import-not-at-top
    ge2e_encoder.rescale_output(encoder, output_scale, feature_mean)
    config = config.replace(output_scale=output_scale)
  staging = out_dir.rstrip("/") + ".partial"
  if os.path.exists(staging):
    shutil.rmtree(staging)
  os.makedirs(staging)
  config = config.replace(decoder_path=speech_to_face.MODEL_DECODER_FILE,
                          train_pattern="", eval_pattern="")
  run_record.write_config(config.to_json(), staging)
  tf.train.CheckpointManager(
      tf.train.Checkpoint(model=encoder), os.path.join(
          staging, run_record.CHECKPOINT_DIR), max_to_keep=1).save(
              checkpoint_number=config.train_steps or 1)
  shutil.copyfile(decoder_path, os.path.join(
      staging, speech_to_face.MODEL_DECODER_FILE))
  for path in files:
    shutil.copyfile(path, os.path.join(staging, os.path.basename(path)))
  if os.path.exists(out_dir):
    shutil.rmtree(out_dir)
  os.rename(staging, out_dir)
  return out_dir
