r"""Benchmark: `s2f serve` latency, request to face, for a 6 s clip.

Rows: the demo's model (`--checkpoint`, e.g. the real-pairs model of `s2f
demo`) and the full Table 1 encoder (random weights: time does not depend
on them) with the same decoder. For each: the model's own call on the file
(`SpeechToFace.predict_file`, what `s2f predict` does) as the baseline, and
an HTTP POST of the same file to a running `s2f serve` until its JSON with
the face arrives (decode + encoder + decoder + instruments + PNG + JSON).
Each model is served in its own process; ratios are to its baseline.

  python experiments/bench/bench_serve.py --checkpoint OUT/voice_encoder
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from absl import app
from absl import flags

flags.DEFINE_string("checkpoint", None, "A trained voice-encoder workdir "
                    "(the demo's).", required=True)
flags.DEFINE_integer("repeats", 5, "Timed requests per row.")
flags.DEFINE_string("child", "", "Internal: time predict_file on this "
                    "workdir.")
FLAGS = flags.FLAGS
CLIP_SECONDS = 6.0


def _clip(folder):
  """A 6 s WAV of real speech (espeak-ng, repeated to length)."""
  from experiments.app import demo_media  # pylint: disable=g-import-not-at-top
  speech = demo_media.speech_wav(os.path.join(folder, "speech.wav"))
  out = os.path.join(folder, "clip6.wav")
  subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1",
                  "-i", speech, "-t", str(CLIP_SECONDS), "-ar", "16000",
                  "-ac", "1", out], check=True)
  return out


def _table1_workdir(checkpoint, folder):
  """A Table 1 encoder workdir (random weights) with the demo's decoder and
  teacher."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from s2f_tf import run_record  # pylint: disable=g-import-not-at-top
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  from s2f_tf.models import voice_encoder  # pylint: disable=g-import-not-at-top
  from tfrecords_schema import face_teacher  # pylint: disable=g-import-not-at-top
  _, config = speech_to_face.load_encoder(checkpoint)
  config = config.replace(encoder="table1")
  workdir = os.path.join(folder, "table1")
  run_record.write_config(config.to_json(), workdir)
  encoder = voice_encoder.build_voice_encoder(
      feature_dim=face_teacher.get(config.teacher).dim)
  tf.train.Checkpoint(model=encoder).save(os.path.join(
      workdir, run_record.CHECKPOINT_DIR, "ckpt"))
  return workdir


def _child(workdir, clip):
  from experiments.bench import timing  # pylint: disable=g-import-not-at-top
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  model = speech_to_face.SpeechToFace.from_workdir(workdir)
  seconds = timing.seconds_per_call(lambda: model.predict_file(clip),
                                    FLAGS.repeats, warmup=1)
  timing.report_row({"seconds": seconds})


def _serve_latency(workdir, clip):
  server = subprocess.Popen(
      [sys.executable, "-m", "s2f_tf.app.cli", "serve",
       f"--checkpoint={workdir}", "--port=0"],
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  try:
    url = None
    while url is None:
      line = server.stdout.readline()
      if not line:
        return float("nan")
      found = re.search(r"Serving on (http://\S+)", line)
      url = found.group(1) if found else None
    with open(clip, "rb") as f:
      body = f.read()

    def request():
      req = urllib.request.Request(
          url + "predict", data=body, method="POST",
          headers={"X-Filename": "clip.wav", "Content-Type": "audio/wav"})
      with urllib.request.urlopen(req, timeout=600) as response:
        response.read()

    request()  # warm
    times = []
    for _ in range(FLAGS.repeats):
      start = time.perf_counter()
      request()
      times.append(time.perf_counter() - start)
    return sum(times) / len(times)
  finally:
    server.terminate()
    server.wait(30)


def main(argv):
  del argv
  from experiments.bench import timing  # pylint: disable=g-import-not-at-top
  if FLAGS.child:
    workdir, clip = FLAGS.child.split(",")
    _child(workdir, clip)
    return
  folder = tempfile.mkdtemp(prefix="bench_serve_")
  clip = _clip(folder)
  rows = [("demo model (" + os.path.basename(os.path.dirname(
      os.path.abspath(FLAGS.checkpoint))) + ")", FLAGS.checkpoint),
          ("Table 1 encoder", _table1_workdir(FLAGS.checkpoint, folder))]
  print("| model | predict_file (baseline) | serve: request to face | "
        "ratio |\n|---|---|---|---|")
  for name, workdir in rows:
    base = timing.run_row(__file__, [f"--checkpoint={FLAGS.checkpoint}",
                                     f"--repeats={FLAGS.repeats}",
                                     f"--child={workdir},{clip}"])
    served = _serve_latency(workdir, clip)
    if "error" in base:
      print(f"| {name} | {base['error']} | {served:.2f} s | – |")
      continue
    print(f"| {name} | {base['seconds']:.2f} s | {served:.2f} s | "
          f"{served / base['seconds']:.2f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
