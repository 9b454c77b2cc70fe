r"""Converts resemblyzer 0.1.4's GE2E weights for s2f, once, and makes the port's reference d-vectors.

Needs torch and resemblyzer in *this* environment only (never s2f's run
time, CI or tests):

  python -m venv /tmp/torchenv
  /tmp/torchenv/bin/pip install resemblyzer==0.1.4 torch absl-py
  /tmp/torchenv/bin/python experiments/convert_ge2e_weights.py

Writes, from the installed wheel's `resemblyzer/pretrained.pt`:
- s2f_tf/models/weights/ge2e_resemblyzer.npz: the LSTM and linear weights
  as float32 arrays under torch's names (the optimizer state is dropped);
  its sha256 goes into `s2f_tf/models/ge2e.py` and weights/NOTICE.md.
- tests/testdata/ge2e_reference.npz: a few 16 kHz clips made from the GRID
  clips s2f ships (decoded by ffmpeg to int16) and, for each, resemblyzer's
  own `embed_utterance(normalize_volume(wav, -30, increase_only=True))`.
This script imports nothing from s2f (no TensorFlow next to torch).
"""

import hashlib
import os
import subprocess

from absl import app
from absl import flags
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("weights_out", os.path.join(
    ROOT, "s2f_tf", "models", "weights", "ge2e_resemblyzer.npz"),
                    "Where the converted weights go.")
flags.DEFINE_string("reference_out", os.path.join(
    ROOT, "tests", "testdata", "ge2e_reference.npz"),
                    "Where the reference clips and d-vectors go.")
flags.DEFINE_string("grid_dir", os.path.join(
    ROOT, "experiments", "demo_data", "grid_av"),
                    "GRID clips (CC BY 4.0) the reference clips are cut from.")
FLAGS = flags.FLAGS

SAMPLE_RATE = 16_000


def decode(path):
  """16 kHz mono int16 samples of a media file (ffmpeg)."""
  raw = subprocess.run(
      ["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar",
       str(SAMPLE_RATE), "-f", "s16le", "-"], capture_output=True,
      check=True).stdout
  return np.frombuffer(raw, "<i2")


def reference_clips(grid_dir):
  """name -> int16 clip: whole clips (3 partials), a 1 s cut (one padded
  partial), a quiet clip (volume raised), two clips joined (6 s)."""
  a = decode(os.path.join(grid_dir, "bbaf2n.mpg"))
  b = decode(os.path.join(grid_dir, "lbbc2a.mpg"))
  c = decode(os.path.join(grid_dir, "swiz3n.mpg"))
  return {
      "bbaf2n_whole": a,
      "lbbc2a_whole": b,
      "swiz3n_first_1s": c[:SAMPLE_RATE],
      "lbbc2a_quiet": np.round(b * 0.05).astype("<i2"),
      "bbaf2n_lbbc2a_joined": np.concatenate([a, b]),
      "swiz3n_2_3s": c[:int(2.3 * SAMPLE_RATE)],
  }


def main(argv):
  del argv
  import resemblyzer  # pylint: disable=g-import-not-at-top
  from resemblyzer import audio  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  source = os.path.join(os.path.dirname(resemblyzer.__file__), "pretrained.pt")
  state = torch.load(source, map_location="cpu")["model_state"]
  arrays = {name: tensor.numpy().astype(np.float32)
            for name, tensor in state.items()
            if name.startswith(("lstm.", "linear."))}
  os.makedirs(os.path.dirname(FLAGS.weights_out), exist_ok=True)
  np.savez(FLAGS.weights_out, **arrays)
  with open(FLAGS.weights_out, "rb") as f:
    sha = hashlib.sha256(f.read()).hexdigest()
  print(f"{FLAGS.weights_out}: {len(arrays)} arrays, "
        f"{sum(a.size for a in arrays.values()):,} weights, sha256 {sha}")
  print(f"source {source} sha256 "
        f"{hashlib.sha256(open(source, 'rb').read()).hexdigest()}")

  encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)
  out = {}
  for name, pcm in reference_clips(FLAGS.grid_dir).items():
    wav = pcm.astype(np.float32) / 32768.0
    wav = audio.normalize_volume(wav, audio.audio_norm_target_dBFS,
                                 increase_only=True)
    out[f"pcm16/{name}"] = pcm
    out[f"dvector/{name}"] = encoder.embed_utterance(wav).astype(np.float32)
  os.makedirs(os.path.dirname(FLAGS.reference_out), exist_ok=True)
  np.savez_compressed(FLAGS.reference_out, **out)
  print(f"{FLAGS.reference_out}: {len(out) // 2} clips")


if __name__ == "__main__":
  app.run(main)
