"""Speech -> face: the front end, a trained voice encoder and a face decoder, composed.

`SpeechToFace(encoder, decoder)` takes the two trained models (injected, never
built here); `SpeechToFace.from_workdir` restores them from a voice-encoder
training workdir. Whole clips of any length >= 1 s are used at inference
(longer speech gives better estimates, the paper's Fig. 6); no repetition.
`export` writes a SavedModel (and a TFLite file where the ops allow) that
takes raw 16 kHz waveform of any length.
"""

import os

from absl import logging
import cv2
import keras
import numpy as np
import tensorflow as tf

from s2f_tf import frozen_heads
from s2f_tf import run_record
from s2f_tf import train_config
from s2f_tf import voice_encoder_trainer
from s2f_tf import windowed_encoder
from s2f_tf import media
from s2f_tf.audio import spectrogram
from s2f_tf.models import voice_encoder

NOTICE = ("average-looking face correlated with the voice; NOT the speaker's "
          "face and not an identity (Speech2Face, Sec. 2)")
CAPTION = ("S2F: average face correlated with voice",
           "not the speaker's face, not an identity")
SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "s2f.tflite"
# Export checks. Images are written as 8-bit PNGs: a difference below half a
# quantisation step cannot change a pixel (float noise through the spline
# warp's 71 x 71 solve moved a trained decoder's pixels by up to 2.4e-4
# between the SavedModel and Keras).
IMAGE_TOLERANCE = 0.5 / 255
# Features: relative to the feature's largest magnitude (float32 noise).
FEATURE_TOLERANCE = 1e-4


class ExportMismatchError(ValueError):
  """An exported model disagrees with the Keras model beyond tolerance."""


def check_export(what, actual, expected):
  """Raises ExportMismatchError (one line) unless `actual` ~ `expected`.

  what: '<format> <output>', e.g. 'SavedModel image'.
  """
  actual, expected = np.asarray(actual), np.asarray(expected)
  if what.endswith("image"):
    tolerance = IMAGE_TOLERANCE
  else:
    tolerance = FEATURE_TOLERANCE * max(1.0, float(np.abs(expected).max()))
  error = np.abs(actual - expected)
  if actual.shape != expected.shape or not np.all(error <= tolerance):
    off = int((error > tolerance).sum()) if actual.shape == expected.shape \
        else "shape"
    raise ExportMismatchError(
        f"{what} differs from the Keras model: {off} of {expected.size} "
        f"values off by up to {float(error.max()):.3g} (tolerance "
        f"{tolerance:.3g}); the export was not kept")


# Where `s2f demo` leaves its real-data model and its small model, inside
# its --out_dir; `--checkpoint OUT` finds them there.
DEMO_MODEL_DIRS = ("voice_encoder",)
# The model that ships with s2f (encoder workdir + its face decoder + model
# card), used when no --checkpoint is given. `package_model` writes one.
SHIPPED_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "models", "weights", "shipped")
# A packaged model folder keeps its face decoder beside its config.json.
MODEL_DECODER_FILE = "face_decoder.keras"
NO_SHIPPED_MODEL = (
    f"no --checkpoint given and no model ships in {SHIPPED_MODEL_DIR} (a "
    "source checkout without it?): pass a voice-encoder workdir, or run "
    "`s2f demo`")


def resolve_workdir(workdir):
  """`workdir`; the shipped model when `workdir` is empty; or the demo's
  model folder inside it when `workdir` is an `s2f demo` output folder
  (logged)."""
  if not workdir:
    if not os.path.isfile(os.path.join(SHIPPED_MODEL_DIR,
                                       run_record.CONFIG_FILE)):
      raise FileNotFoundError(NO_SHIPPED_MODEL)
    return SHIPPED_MODEL_DIR
  if os.path.isfile(os.path.join(workdir, run_record.CONFIG_FILE)):
    return workdir
  for sub in DEMO_MODEL_DIRS:
    inner = os.path.join(workdir, sub)
    if os.path.isfile(os.path.join(inner, run_record.CONFIG_FILE)):
      print(f"Using the demo's model {inner}", flush=True)
      return inner
  return workdir


def load_encoder(workdir):
  """(voice encoder at the newest checkpoint, TrainConfig) of a workdir (or
  of the demo's model inside an `s2f demo` output folder)."""
  workdir = resolve_workdir(workdir)
  config_path = os.path.join(workdir, run_record.CONFIG_FILE)
  if not os.path.isfile(config_path):
    raise FileNotFoundError(
        f"{workdir} is not a voice-encoder workdir (no config.json). Train "
        "one with experiments/train.py or run `s2f demo`; no pretrained "
        "Speech2Face model is published.")
  config = train_config.TrainConfig.load(config_path)
  encoder = voice_encoder_trainer.build_encoder(config)
  latest = tf.train.latest_checkpoint(os.path.join(
      workdir, run_record.CHECKPOINT_DIR))
  if latest is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  try:
    tf.train.Checkpoint(model=encoder).restore(
        latest).expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise ValueError(
        f"{latest} does not hold a --encoder={config.encoder} voice encoder "
        f"for {config.teacher}, as {config_path} says: was the config.json "
        "replaced? Use the config.json the run wrote") from e
  logging.info("Loaded the voice encoder from %s", latest)
  return encoder, config


class SpeechToFace:
  """Waveform -> (the teacher's feature, 224 x 224 RGB face or None)."""

  def __init__(self, encoder, decoder=None,
               spec=voice_encoder.VOICE_ENCODER_SPEC, config=None):
    """`spec`: Table 1's rows of `encoder`, or None when the encoder reads
    the waveform itself (ge2e: its partials already bound the memory)."""
    self.encoder = encoder
    self.config = config  # the run's TrainConfig, when loaded from one
    self.decoder = decoder
    self.takes_waveform = spec is None
    self.front_end = spectrogram.Spectrogram(name="spectrogram")
    # Files of any length in the memory of one window (exact; see module).
    self.windowed = (None if spec is None else
                     windowed_encoder.WindowedEncoder(encoder, spec))
    # One graph for clips of every length (eager Keras costs ~1 s a clip).
    self._whole_clip = tf.function(self.encode, input_signature=[
        tf.TensorSpec([1, None], tf.float32)])

  @classmethod
  def from_workdir(cls, workdir="", decoder_path=""):
    """Restores the encoder of a training workdir (newest checkpoint); ""
    is the model that ships with s2f.

    The decoder is `decoder_path`, else the packaged one beside the
    workdir's config.json, else the one the run was trained with.
    """
    workdir = resolve_workdir(workdir)
    encoder, config = load_encoder(workdir)
    packaged = os.path.join(workdir, MODEL_DECODER_FILE)
    decoder_path = decoder_path or (packaged if os.path.isfile(packaged) else
                                    config.decoder_path)
    decoder = None
    if decoder_path:
      _, decoder = frozen_heads.load_face_decoder(decoder_path,
                                                  teacher=config.teacher)
    else:
      logging.warning("No face decoder: only the feature is predicted.")
    return cls(encoder, decoder, voice_encoder.SPECS.get(config.encoder),
               config)

  def encode(self, waveform):
    """(B, samples) float32 waveform -> (B, dim) feature tensor."""
    network_input = (waveform if self.takes_waveform else
                     self.front_end(waveform))
    return self.encoder(network_input, training=False)

  def __call__(self, waveform):
    """(B, samples) float32 waveform -> {'feature', ['image']} tensors."""
    feature = self.encode(waveform)
    out = {"feature": feature}
    if self.decoder is not None:
      out["image"] = self.decoder(feature, training=False)
    return out

  def predict_file(self, path):
    """Reads any audio/video file; returns (feature (dim,), image or None).

    The whole recording is used, encoded window by window (bounded memory,
    the same feature as one pass over the whole clip).

    Raises media.MediaError subclasses (unreadable, no audio, too short,
    silence) with a message naming the file.
    """
    return self.predict_waveform(media.load_speech(path))

  def predict_waveform(self, waveform):
    """(feature (dim,), image or None) of a 16 kHz mono waveform (n,), as
    `predict_file` after decoding."""
    if self.windowed is None:
      feature = self._whole_clip(waveform[None]).numpy()[0]
    else:
      feature = self.windowed(waveform)
    image = None
    if self.decoder is not None:
      decoded = self.decoder(feature[None], training=False)
      image = np.clip(np.round(np.asarray(decoded)[0] * 255), 0,
                      255).astype(np.uint8)
    return feature, image


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
  encoder, config = load_encoder(encoder_run)
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
  config = config.replace(decoder_path=MODEL_DECODER_FILE, train_pattern="",
                          eval_pattern="")
  run_record.write_config(config.to_json(), staging)
  tf.train.CheckpointManager(
      tf.train.Checkpoint(model=encoder), os.path.join(
          staging, run_record.CHECKPOINT_DIR), max_to_keep=1).save(
              checkpoint_number=config.train_steps or 1)
  shutil.copyfile(decoder_path, os.path.join(staging, MODEL_DECODER_FILE))
  for path in files:
    shutil.copyfile(path, os.path.join(staging, os.path.basename(path)))
  if os.path.exists(out_dir):
    shutil.rmtree(out_dir)
  os.rename(staging, out_dir)
  return out_dir


def write_outputs(feature, image, out_png, caption=True):
  """Writes <out>.png (with the responsible-use caption) and <out>.npy."""
  stem = os.path.splitext(out_png)[0]
  os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
  np.save(stem + ".npy", feature)
  if image is None:
    return stem + ".npy", None
  if caption:
    band = np.full((32, image.shape[1], 3), 255, np.uint8)
    for line, text in enumerate(CAPTION):
      cv2.putText(band, text, (3, 13 + 14 * line), cv2.FONT_HERSHEY_SIMPLEX,
                  0.32, (0, 0, 0), 1, cv2.LINE_AA)
    image = np.concatenate([image, band], axis=0)
  cv2.imwrite(out_png, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
  return stem + ".npy", out_png


def _convert_tflite(saved_model, signature):
  converter = tf.lite.TFLiteConverter.from_saved_model(
      saved_model, signature_keys=[signature])
  converter.target_spec.supported_ops = [
      tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
  return converter.convert()


def _write_checked_saved_model(model, path, test):
  """Writes the SavedModel to `path` only if it matches the Keras model on
  `test`; returns its outputs on `test`."""
  archive = keras.export.ExportArchive()
  archive.track(model.encoder)
  if model.decoder is not None:
    archive.track(model.decoder)
  signature = [tf.TensorSpec([None, None], tf.float32, name="waveform")]
  archive.add_endpoint(name="serve", fn=lambda waveform: model(waveform),
                       input_signature=signature)
  archive.add_endpoint(
      name="serve_feature",
      fn=lambda waveform: {"feature": model.encode(waveform)},
      input_signature=signature)
  staging = path + ".unchecked"
  if tf.io.gfile.exists(staging):
    tf.io.gfile.rmtree(staging)
  archive.write_out(staging)
  expected = {k: np.asarray(v) for k, v in model(test).items()}
  restored = tf.saved_model.load(staging)  # keep a reference while calling
  actual = {k: v.numpy() for k, v in restored.serve(tf.constant(test)).items()}
  try:
    for key, value in expected.items():
      check_export(f"SavedModel {key}", actual[key], value)
  except ExportMismatchError:
    tf.io.gfile.rmtree(staging)
    raise
  if tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)
  tf.io.gfile.rename(staging, path)
  return actual


def _write_checked_tflite(saved_model, out_dir, test, reference):
  """The first signature that converts ('serve', else 'serve_feature'),
  checked against the SavedModel's outputs; (path, signature, note)."""
  note = None
  for signature_key in ("serve", "serve_feature"):
    try:
      flatbuffer = _convert_tflite(saved_model, signature_key)
    except Exception as e:  # pylint: disable=broad-except
      message = str(e)
      reason = ("MatrixSolve (the decoder's spline warp) has no TFLite "
                "kernel" if "MatrixSolve" in message else message[:300])
      note = f"'{signature_key}' not converted: {reason}"
      logging.warning("TFLite: %s", note)
      continue
    runner = tf.lite.Interpreter(model_content=flatbuffer
                                ).get_signature_runner(signature_key)
    for key, value in runner(waveform=test).items():
      check_export(f"TFLite {key}", value, reference[key])
    path = os.path.join(out_dir, TFLITE_FILE)
    with open(path, "wb") as f:
      f.write(flatbuffer)
    return path, signature_key, note
  return None, None, note


def export(model, out_dir, tflite=False, check_seconds=2.0):
  """SavedModel with `serve(waveform[batch, samples]) -> {feature, image}`
  and `serve_feature(waveform) -> {feature}`.

  The SavedModel is checked against the Keras model on a test waveform
  before it is kept. With `tflite`, the full `serve` signature is converted
  (builtin + select TF ops) when the ops allow; the face decoder's spline warp
  needs MatrixSolve, which TFLite lacks, so the fallback is the feature-only
  signature, and the reason is returned.

  Returns:
    {'saved_model', 'tflite' (path or None), 'tflite_signature',
     'tflite_note' (why the full model is not in TFLite, or None)}
  """
  test = np.random.RandomState(0).uniform(
      -0.3, 0.3, (1, spectrogram.num_samples(check_seconds))).astype(
          np.float32)
  path = os.path.join(out_dir, SAVED_MODEL_DIR)
  reference = _write_checked_saved_model(model, path, test)
  result = {"saved_model": path, "tflite": None, "tflite_signature": None,
            "tflite_note": None}
  if tflite:
    result["tflite"], result["tflite_signature"], result["tflite_note"] = (
        _write_checked_tflite(path, out_dir, test, reference))
  return result
