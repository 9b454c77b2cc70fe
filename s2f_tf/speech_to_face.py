"""Speech -> face: the front end, a trained voice encoder and a face decoder, composed.

`SpeechToFace(encoder, decoder)` takes the two trained models (injected, never
built here); `SpeechToFace.from_workdir` restores them from a voice-encoder
training workdir or a packaged model folder. Whole clips of any length >= 1 s
are used at inference (longer speech gives better estimates, the paper's
Fig. 6); no repetition. Packaging a model folder is `model_package`, export
to SavedModel / TFLite `model_export`.
"""

import os

from absl import logging
import cv2
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
