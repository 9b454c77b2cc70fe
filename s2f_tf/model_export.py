"""Export of a speech-to-face model: a SavedModel (and a TFLite file where the ops allow) that takes raw 16 kHz waveform of any length, each checked against the Keras model before it is kept."""

import os

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from s2f_tf.audio import spectrogram

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
