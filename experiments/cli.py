"""The `s2f` command: predict a face from speech, export, or run the demo.

  s2f predict --audio talk.wav --checkpoint RUN_DIR --out face.png
  s2f predict --audio_dir clips/ --checkpoint RUN_DIR --out_dir faces/
  s2f export --checkpoint RUN_DIR --out_dir export/ [--tflite]
  s2f demo --out_dir /tmp/s2f_demo [--quick]

Outputs are an average-looking face correlated with the voice, never the
speaker's identity (Speech2Face, Sec. 2).
"""

import csv
import os
import sys

from absl import app
from absl import flags
from absl import logging

from s2f_tf import console
from s2f_tf import media

flags.DEFINE_string("audio", "", "predict: one audio or video file.")
flags.DEFINE_string("audio_dir", "", "predict: every media file in a folder.")
flags.DEFINE_string("csv", "", "predict: CSV whose first column is a path.")
flags.DEFINE_string("checkpoint", "", "Voice-encoder training workdir.")
flags.DEFINE_string("decoder", "", "Face decoder .keras (default: the run's).")
flags.DEFINE_string("out", "face.png", "predict: output image (+ .npy).")
flags.DEFINE_string("out_dir", "", "Output folder (batch predict, export, "
                    "demo).")
flags.DEFINE_boolean("tflite", False, "export: also write a TFLite file.")
flags.DEFINE_boolean("quick", False, "demo: the few-minute CI version.")
flags.DEFINE_string("data_dir", "", "demo: real data (default ../shared/data "
                    "beside the repository).")
flags.DEFINE_string("vgg_face_weights", "", "demo: VGG-Face .h5/.mat.")
FLAGS = flags.FLAGS

USAGE = __doc__


def _model():
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  if not FLAGS.checkpoint:
    raise app.UsageError("--checkpoint is required: a voice-encoder workdir "
                         "(train one, or run `s2f demo`)")
  console.require_path("checkpoint", FLAGS.checkpoint, "dir")
  if FLAGS.decoder:
    console.require_path("decoder", FLAGS.decoder)
  return speech_to_face, speech_to_face.SpeechToFace.from_workdir(
      FLAGS.checkpoint, FLAGS.decoder)


def _batch_inputs():
  if FLAGS.audio_dir:
    return [os.path.join(FLAGS.audio_dir, n)
            for n in sorted(os.listdir(FLAGS.audio_dir))
            if n.lower().endswith(media.MEDIA_EXTENSIONS)]
  with open(FLAGS.csv, newline="", encoding="utf-8") as f:
    return [row[0] for row in csv.reader(f) if row and not row[0].startswith(
        "#") and row[0] != "path"]


def predict(argv):
  """Predicts a face (PNG with caption + 4096-D feature .npy) per recording."""
  del argv
  if not (FLAGS.audio or FLAGS.audio_dir or FLAGS.csv):
    raise app.UsageError("give --audio, --audio_dir or --csv")
  for name, kind in (("audio", "file"), ("audio_dir", "dir"), ("csv", "file")):
    if FLAGS[name].value:
      console.require_path(name, FLAGS[name].value, kind)
  library, model = _model()
  print(f"Note: each output is an {library.NOTICE}.")
  if FLAGS.audio:
    try:
      feature, image = model.predict_file(FLAGS.audio)
    except media.MediaError as e:
      print(f"error: {e}", file=sys.stderr)
      return 1
    written = library.write_outputs(feature, image, FLAGS.out)
    print("wrote " + ", ".join(p for p in written if p))
    return 0
  out_dir = FLAGS.out_dir or "s2f_faces"
  os.makedirs(out_dir, exist_ok=True)
  rows, failures = [], 0
  for path in _batch_inputs():
    stem = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0])
    try:
      feature, image = model.predict_file(path)
      npy, png = library.write_outputs(feature, image, stem + ".png")
      rows.append([path, "ok", png or "", npy])
    except media.MediaError as e:
      failures += 1
      logging.warning("skip %s: %s", path, e)
      rows.append([path, e.reason, "", ""])
  with open(os.path.join(out_dir, "predictions.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["path", "status", "image", "feature"])
    writer.writerows(rows)
  print(f"{len(rows) - failures} faces in {out_dir}, {failures} inputs "
        "skipped (see predictions.csv)")
  return 1 if rows and failures == len(rows) else 0


def export(argv):
  """Writes a SavedModel (waveform -> feature + image) and optionally TFLite."""
  del argv
  library, model = _model()
  result = library.export(model, FLAGS.out_dir or "s2f_export",
                          tflite=FLAGS.tflite)
  print(f"SavedModel: {result['saved_model']} (checked against the Keras "
        "model)")
  if FLAGS.tflite:
    print(f"TFLite: {result['tflite']} (signature "
          f"{result['tflite_signature']})"
          + (f"; {result['tflite_note']}" if result["tflite_note"] else ""))
  return 0


def demo(argv):
  """Runs the whole pipeline on real data in minutes (tiny models)."""
  del argv
  from experiments import demo_lib  # pylint: disable=g-import-not-at-top
  demo_lib.run_demo(FLAGS.out_dir or "s2f_demo", quick=FLAGS.quick,
                    data_dir=FLAGS.data_dir,
                    vgg_face_weights=FLAGS.vgg_face_weights)
  return 0


COMMANDS = {"predict": predict, "export": export, "demo": demo}
# The flags each command reads (what its --help lists).
COMMAND_FLAGS = {
    "predict": ("audio", "audio_dir", "csv", "checkpoint", "decoder", "out",
                "out_dir"),
    "export": ("checkpoint", "decoder", "out_dir", "tflite"),
    "demo": ("out_dir", "quick", "data_dir", "vgg_face_weights"),
}


def run():
  """`s2f COMMAND [flags]`; `s2f --help` and `s2f COMMAND --help` exit 0."""
  if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    asked = len(sys.argv) > 1 and sys.argv[1] in console.HELP_ARGS
    print(USAGE, file=sys.stdout if asked else sys.stderr)
    sys.exit(0 if asked else 2)
  command = sys.argv[1]
  function = COMMANDS[command]
  console.run(function, f"s2f {command}: {function.__doc__}",
              argv=[f"{sys.argv[0]} {command}"] + sys.argv[2:],
              only=COMMAND_FLAGS[command])


if __name__ == "__main__":
  run()
