"""The `s2f` command: predict a face from speech, export, or run the demo.

  s2f predict --audio talk.wav --out face.png
  s2f predict --audio_dir clips/ --out_dir faces/ [--checkpoint RUN_DIR]
  s2f export --out_dir export/ [--tflite] [--checkpoint RUN_DIR]
  s2f demo --out_dir /tmp/s2f_demo [--quick] [--pairs_dir PAIRS]
  s2f serve [--port 8080] [--checkpoint RUN_DIR]   # then open the page

Without --checkpoint, predict, export and serve use the model that ships
with s2f (its model card: s2f_tf/models/weights/shipped/MODEL_CARD.md).

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

flags.DEFINE_string("audio", "", "predict: one audio or video file.")
flags.DEFINE_string("audio_dir", "", "predict: every media file in a folder.")
flags.DEFINE_string("csv", "", "predict: CSV whose first column is a path.")
flags.DEFINE_string("checkpoint", "", "Voice-encoder training workdir or "
                    "model folder (default: the model that ships with s2f).")
flags.DEFINE_string("decoder", "", "Face decoder .keras (default: the run's).")
flags.DEFINE_string("out", "face.png", "predict: output image (+ .npy).")
flags.DEFINE_string("out_dir", "", "Output folder (batch predict, export, "
                    "demo).")
flags.DEFINE_boolean("tflite", False, "export: also write a TFLite file.")
flags.DEFINE_boolean("quick", False, "demo: the few-minute CI version.")
flags.DEFINE_string("data_dir", "", "demo: real data (default ../shared/data "
                    "beside the repository).")
flags.DEFINE_string("vgg_face_weights", "", "demo: VGG-Face .h5/.mat.")
flags.DEFINE_string("pairs_dir", "", "demo: the Speech2Face project page's "
                    "voice/face pairs (default: DATA_DIR/speech2face_examples"
                    " when there).")
flags.DEFINE_string("extra_faces", "", "demo: a folder of more face photos "
                    "for the face decoder (real-pairs mode).")
flags.DEFINE_string("host", "127.0.0.1", "serve: address to listen on (only "
                    "this computer by default).")
flags.DEFINE_integer("port", 8080, "serve: port (0: any free port).")
flags.DEFINE_integer("max_upload_mb", 20, "serve: largest upload accepted.")
flags.DEFINE_integer("queue_size", 4, "serve: recordings that may wait; "
                     "more at once are told the server is busy.")
flags.DEFINE_integer("encoder_steps", 0, "demo: voice-encoder steps in "
                     "real-pairs mode (0: its config's).")
flags.DEFINE_enum("encoder", "ge2e", ["ge2e", "table1"], "demo: the voice "
                  "encoder in real-pairs mode: ge2e (the shipped model's "
                  "kind: GE2E backbone + head) or table1 (the paper's Table "
                  "1 encoder, for GPU-scale data).")
FLAGS = flags.FLAGS

USAGE = __doc__


def _check_model_flags():
  if FLAGS.checkpoint:  # else the model that ships with s2f
    console.require_path("checkpoint", FLAGS.checkpoint, "dir")
  if FLAGS.decoder:
    console.require_path("decoder", FLAGS.decoder)


def _model():
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  _check_model_flags()
  return speech_to_face, speech_to_face.SpeechToFace.from_workdir(
      FLAGS.checkpoint, FLAGS.decoder)


def _batch_inputs():
  """(media paths, the folder their output names are relative to)."""
  from s2f_tf import media  # pylint: disable=g-import-not-at-top
  if FLAGS.audio_dir:
    paths = []
    for directory, subdirs, names in os.walk(FLAGS.audio_dir):
      subdirs.sort()
      paths += [os.path.join(directory, n) for n in sorted(names)
                if n.lower().endswith(media.MEDIA_EXTENSIONS)]
    return paths, FLAGS.audio_dir
  with open(FLAGS.csv, newline="", encoding="utf-8") as f:
    paths = [row[0] for row in csv.reader(f) if row and not row[0].startswith(
        "#") and row[0] != "path"]
  absolute = [os.path.abspath(p) for p in paths]
  root = os.path.commonpath([os.path.dirname(p) for p in absolute]) \
      if absolute else "."
  return paths, root


def output_stems(paths, root):
  """Each input's output name: its path below `root` with its extension
  kept (`a/x.wav` -> `a/x.wav`, beside `a/x.mp3` -> `a/x.mp3`), so no two
  inputs share an output. Raises UsageError on a repeated input."""
  stems, seen = [], {}
  for path in paths:
    stem = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if stem in seen:
      raise app.UsageError(f"{path} and {seen[stem]} would both write "
                           f"{stem}.png: list each input once")
    seen[stem] = path
    stems.append(stem)
  return stems


def predict(argv):
  """Predicts a face (PNG with caption + feature .npy) per recording.

  Batch outputs keep each input's path below --audio_dir (or below the
  CSV's common folder) and its extension: clips/a/x.wav -> OUT/a/x.wav.png.
  """
  del argv
  if not (FLAGS.audio or FLAGS.audio_dir or FLAGS.csv):
    raise app.UsageError("give --audio, --audio_dir or --csv")
  with console.long_lived():  # TensorFlow and the model: ~1 s less cold.
    for name, kind in (("audio", "file"), ("audio_dir", "dir"),
                       ("csv", "file")):
      if FLAGS[name].value:
        console.require_path(name, FLAGS[name].value, kind)
    from s2f_tf import media  # pylint: disable=g-import-not-at-top
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
  paths, root = _batch_inputs()
  stems = output_stems(paths, root)
  os.makedirs(out_dir, exist_ok=True)
  rows, failures = [], 0
  for path, name in zip(paths, stems):
    stem = os.path.join(out_dir, name)
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
  with console.long_lived():
    _, model = _model()
  from s2f_tf import model_export  # pylint: disable=g-import-not-at-top
  result = model_export.export(model, FLAGS.out_dir or "s2f_export",
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
  for name in ("pairs_dir", "extra_faces"):
    if FLAGS[name].value:
      console.require_path(name, FLAGS[name].value, "dir")
  # The demo is the research pipeline: handed over to, never imported by
  # the product's modules.
  import importlib  # pylint: disable=g-import-not-at-top
  demo_lib = importlib.import_module("experiments.app.demo_lib")
  data = demo_lib.resolve(FLAGS.data_dir, FLAGS.pairs_dir, FLAGS.extra_faces,
                          FLAGS.vgg_face_weights)
  demo_lib.run_demo(FLAGS.out_dir or "s2f_demo", data, quick=FLAGS.quick,
                    encoder_steps=FLAGS.encoder_steps,
                    encoder=FLAGS.encoder)
  return 0


def serve(argv):
  """Serves a local web page: record or upload a voice, see the face."""
  del argv
  from s2f_tf.app import serve_lib  # pylint: disable=g-import-not-at-top
  if FLAGS.host not in ("127.0.0.1", "localhost", "::1"):
    print(f"warning: serving on {FLAGS.host}: anyone who can reach this "
          "machine can use the page", file=sys.stderr)
  if not 0 <= FLAGS.port < 65536:
    raise app.UsageError(f"--port={FLAGS.port}: not a port")
  if FLAGS.max_upload_mb < 1 or FLAGS.queue_size < 1:
    raise app.UsageError("--max_upload_mb and --queue_size must be >= 1")
  _check_model_flags()
  print("Loading the model...", flush=True)  # errors come before serving
  serve_lib.serve(
      serve_lib.ServeOptions(
          checkpoint=FLAGS.checkpoint, decoder_path=FLAGS.decoder,
          host=FLAGS.host, port=FLAGS.port,
          max_upload_mb=FLAGS.max_upload_mb, queue_size=FLAGS.queue_size),
      ready=lambda url: print(f"Serving on {url} (Ctrl-C stops)",
                              flush=True))
  return 0


COMMANDS = {"predict": predict, "export": export, "demo": demo,
            "serve": serve}
# The flags each command reads (what its --help lists).
COMMAND_FLAGS = {
    "predict": ("audio", "audio_dir", "csv", "checkpoint", "decoder", "out",
                "out_dir"),
    "export": ("checkpoint", "decoder", "out_dir", "tflite"),
    "demo": ("out_dir", "quick", "data_dir", "vgg_face_weights", "pairs_dir",
             "extra_faces", "encoder_steps", "encoder"),
    "serve": ("checkpoint", "decoder", "host", "port", "max_upload_mb",
              "queue_size"),
}


def run():
  """`s2f COMMAND [flags]`; `s2f --help` and `s2f COMMAND --help` exit 0."""
  if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    asked = len(sys.argv) > 1 and sys.argv[1] in console.HELP_ARGS
    if asked:
      print(USAGE)
      sys.exit(0)
    given = sys.argv[1] if len(sys.argv) > 1 else ""
    print(f"error: {'unknown command ' + repr(given) if given else 'no command'}"
          f"{console.nearest(given, COMMANDS)}; choose one of "
          f"{', '.join(COMMANDS)} (s2f --help)", file=sys.stderr)
    sys.exit(2)
  command = sys.argv[1]
  function = COMMANDS[command]
  console.run(function, f"s2f {command}: {function.__doc__}",
              argv=[f"{sys.argv[0]} {command}"] + sys.argv[2:],
              only=COMMAND_FLAGS[command])


if __name__ == "__main__":
  run()
