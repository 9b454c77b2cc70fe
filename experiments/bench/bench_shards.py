"""Benchmark of the shard job's stages: clips/s per CPU core for each stage.

Stages on real media (a 6 s talking-face MP4 made with espeak-ng + ffmpeg,
or a GRID clip from ../shared/data when present): decode audio, read the
middle frame, detect (dlib CNN vs HOG), VGG-Face fc7 (full size, random
weights: speed only), STFT, encode + write one TFRecord example. The ratio
column is each stage's rate over the whole per-clip pipeline's rate (the
baseline), so it shows where a clip's time goes.

  python experiments/bench/bench_shards.py [--repeats 5]
"""

import os
import tempfile

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from experiments.bench import timing
from s2f_tf import media
from s2f_tf.audio import spectrogram
from s2f_tf.faces import face_detector
from s2f_tf.models import vgg_face
from tfrecords_schema import speech_face

flags.DEFINE_integer("repeats", 5, "Timed repetitions per stage.")
flags.DEFINE_string("media", "", "Clip to use (default: GRID or generated).")
FLAGS = flags.FLAGS

GRID = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                    "data", "grid_av", "bbaf2n.mpg")


def _clip(tmp):
  if FLAGS.media:
    return FLAGS.media
  if os.path.exists(GRID):
    return GRID
  import subprocess  # pylint: disable=g-import-not-at-top
  import skimage.data  # pylint: disable=g-import-not-at-top
  import cv2  # pylint: disable=g-import-not-at-top
  wav, png, mp4 = (os.path.join(tmp, n) for n in ("s.wav", "f.png", "c.mp4"))
  subprocess.run(["espeak-ng", "-w", wav, "A benchmark sentence spoken for "
                  "about six seconds by a synthetic voice, clearly."],
                 check=True)
  cv2.imwrite(png, cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
  subprocess.run(["ffmpeg", "-v", "error", "-loop", "1", "-i", png, "-i", wav,
                  "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", mp4],
                 check=True)
  return mp4


def main(argv):
  del argv
  tmp = tempfile.mkdtemp()
  clip = _clip(tmp)
  cores = os.cpu_count()
  waveform = media.load_audio(clip)
  frame = media.read_frame(clip, 1.5)
  cnn, hog = face_detector.FaceDetector("cnn"), face_detector.FaceDetector(
      "hog")
  box = face_detector.choose_face(cnn.detect(frame), frame.shape)
  crop = face_detector.crop_face(frame, box)
  model = vgg_face.build_vgg_face()
  stft = tf.function(spectrogram.training_spectrogram)
  writer = tf.io.TFRecordWriter(os.path.join(tmp, "bench.tfrecord"))
  fc7 = np.zeros(4096, np.float32)

  def write():
    writer.write(speech_face.encode(
        waveform=waveform, sample_rate=16000, fc7=fc7, clip_id="c",
        speaker_id="s", face_jpeg=b""))

  stages = [
      ("decode audio (ffmpeg)", lambda: media.load_audio(clip)),
      ("read middle frame (ffmpeg)", lambda: media.read_frame(clip, 1.5)),
      ("detect dlib CNN", lambda: cnn.detect(frame)),
      ("detect dlib HOG", lambda: hog.detect(frame)),
      ("crop 224x224", lambda: face_detector.crop_face(frame, box)),
      ("VGG-Face fc7", lambda: vgg_face.extract_fc7(model, crop[None])),
      ("STFT (6 s)", lambda: stft(waveform).numpy()),
      ("encode + write example", write),
  ]
  seconds = {name: timing.seconds_per_call(fn, FLAGS.repeats)
             for name, fn in stages}
  pipeline = sum(s for name, s in seconds.items() if name != "detect dlib HOG")
  print(f"\nShard stages on {os.path.basename(clip)} "
        f"({len(waveform) / 16000:.2f} s, frame {frame.shape[1]}x"
        f"{frame.shape[0]}), {cores} cores, TF intra-op threads: all")
  print(f"{'stage':30s} {'ms/clip':>9s} {'clips/s/core':>13s} "
        f"{'vs whole clip (baseline)':>25s}")
  print(f"{'whole clip, CNN (baseline)':30s} {1e3 * pipeline:9.1f} "
        f"{1 / pipeline / cores:13.2f} {1.0:24.2f}x")
  for name, s in seconds.items():
    print(f"{name:30s} {1e3 * s:9.1f} {1 / s / cores:13.2f} "
          f"{pipeline / s:24.2f}x")
  writer.close()


if __name__ == "__main__":
  app.run(main)
