"""The product: `s2f predict` on real speech and broken input, export, main job."""

import csv
import json
import os
import shutil
import subprocess

import cv2
import keras
import numpy as np
import tensorflow as tf

from experiments.app import demo_media
from s2f_tf import model_export
from s2f_tf import speech_to_face
from tests import binaries
from tests import tiny_model


def s2f(*args, timeout=600):
  return binaries.run(["-m", "s2f_tf.app.cli", *args], timeout)


class SpeechToFaceTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir() + "/s2f_product"
    cls.workdir, _, cls.decoder = tiny_model.tiny_run(cls.root)
    cls.speech = demo_media.speech_wav(os.path.join(cls.root, "speech.wav"))

  def test_predict_real_speech(self):
    out = os.path.join(self.root, "out", "face.png")
    result = s2f("predict", f"--audio={self.speech}",
                 f"--checkpoint={self.workdir}", f"--out={out}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("not an identity", result.stdout)
    feature = np.load(out[:-4] + ".npy")
    self.assertEqual(feature.shape, (4096,))
    image = cv2.imread(out)
    self.assertEqual(image.shape, (224 + 32, 224, 3))  # face + caption band
    # The CLI gives the library's answer for the same file.
    model = speech_to_face.SpeechToFace.from_workdir(self.workdir)
    expected, _ = model.predict_file(self.speech)
    self.assertAllClose(feature, expected, atol=1e-5)

  def test_predict_broken_inputs_fail_clearly(self):
    broken = os.path.join(self.root, "broken")
    os.makedirs(broken, exist_ok=True)
    corrupt = os.path.join(broken, "corrupt.mp3")
    with open(corrupt, "wb") as f:
      f.write(np.random.RandomState(0).bytes(4000))
    no_audio = demo_media.still_video(os.path.join(broken, "noaudio.mp4"),
                                      np.zeros((64, 64, 3), np.uint8),
                                      seconds=2)
    silent = demo_media.still_video(os.path.join(broken, "silent.mp4"),
                                    np.zeros((64, 64, 3), np.uint8),
                                    seconds=3, silent_audio=True)
    short = demo_media.speech_wav(os.path.join(broken, "short.wav"), "en",
                                  "Hi.")
    cases = {corrupt: "could not decode", no_audio: "no audio stream",
             silent: "silent", short: "at least 1.00 s",
             os.path.join(broken, "missing.wav"): "no such file"}
    for path, message in cases.items():
      result = s2f("predict", f"--audio={path}",
                   f"--checkpoint={self.workdir}",
                   f"--out={self.root}/x.png")
      self.assertEqual(result.returncode, 1, path)
      self.assertIn("error:", result.stderr)
      self.assertIn(message, result.stderr, path)
      self.assertNotIn("Traceback", result.stderr)

  def test_batch_mode_skips_bad_files(self):
    folder = os.path.join(self.root, "batch")
    os.makedirs(folder, exist_ok=True)
    demo_media.speech_wav(os.path.join(folder, "good.wav"))
    with open(os.path.join(folder, "bad.wav"), "wb") as f:
      f.write(b"RIFF broken")
    out = os.path.join(self.root, "batch_out")
    result = s2f("predict", f"--audio_dir={folder}",
                 f"--checkpoint={self.workdir}", f"--out_dir={out}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(out, "predictions.csv")) as f:
      rows = {os.path.basename(r["path"]): r["status"]
              for r in csv.DictReader(f)}
    self.assertEqual(rows, {"bad.wav": "unreadable_media", "good.wav": "ok"})
    self.assertTrue(os.path.exists(os.path.join(out, "good.wav.png")))

  def test_batch_outputs_never_overwrite(self):
    folder = os.path.join(self.root, "same_names")
    for sub in ("a", "b"):
      os.makedirs(os.path.join(folder, sub), exist_ok=True)
    wav = demo_media.speech_wav(os.path.join(folder, "x.wav"))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", wav,
                    os.path.join(folder, "x.mp3")], check=True)
    for sub in ("a", "b"):
      shutil.copy(wav, os.path.join(folder, sub, "y.wav"))
    out = os.path.join(self.root, "same_out")
    result = s2f("predict", f"--audio_dir={folder}",
                 f"--checkpoint={self.workdir}", f"--out_dir={out}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(out, "predictions.csv")) as f:
      images = [r["image"] for r in csv.DictReader(f)]
    self.assertLen(images, 4)
    self.assertLen(set(images), 4)
    for image in images:
      self.assertTrue(os.path.isfile(image), image)
    self.assertIn("4 faces", result.stdout)
    # The same file listed twice in a CSV: one error line, nothing written.
    listing = os.path.join(self.root, "twice.csv")
    with open(listing, "w") as f:
      f.write(f"{wav}\n{wav}\n")
    out2 = os.path.join(self.root, "twice_out")
    result = s2f("predict", f"--csv={listing}",
                 f"--checkpoint={self.workdir}", f"--out_dir={out2}")
    self.assertEqual(result.returncode, 1)
    self.assertIn("would both write", result.stderr.strip().splitlines()[-1])
    self.assertFalse(os.path.exists(out2))

  def test_saved_model_and_tflite_round_trip(self):
    out = os.path.join(self.root, "export")
    result = s2f("export", f"--checkpoint={self.workdir}", f"--out_dir={out}",
                 "--tflite")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    model = speech_to_face.SpeechToFace.from_workdir(self.workdir)
    waveform = np.random.RandomState(5).uniform(-0.3, 0.3, (2, 52_800))
    waveform = waveform.astype(np.float32)  # 3.3 s: not the export's check
    expected = model(waveform)
    restored = tf.saved_model.load(os.path.join(
        out, model_export.SAVED_MODEL_DIR))
    actual = restored.serve(tf.constant(waveform))
    self.assertAllClose(actual["feature"], expected["feature"], atol=1e-4)
    self.assertAllClose(actual["image"], expected["image"], atol=1e-4)
    self.assertEqual(actual["image"].shape, (2, 224, 224, 3))
    interpreter = tf.lite.Interpreter(model_path=os.path.join(
        out, model_export.TFLITE_FILE))
    runner = interpreter.get_signature_runner("serve_feature")
    lite = runner(waveform=waveform[:1])
    self.assertAllClose(lite["feature"], expected["feature"][:1], atol=1e-4)
    self.assertIn("MatrixSolve", result.stdout)

  def test_export_of_a_decoder_that_moves_landmarks(self):
    """A trained decoder moves landmarks off the mean shape, so the spline
    warp's solve runs for real (an untrained one is the identity warp); its
    export must pass the stated tolerance and TFLite must match."""
    encoder, _ = speech_to_face.load_encoder(self.workdir)
    decoder = keras.models.load_model(self.decoder, compile=False)
    offsets = decoder.get_layer("landmark_offsets")
    kernel, bias = offsets.get_weights()
    rng = np.random.RandomState(0)
    # Offsets are in units of the 224 px image: bias ~ N(0, 0.04) moves each
    # landmark by ~9 px, as a trained decoder does.
    offsets.set_weights([rng.normal(0, 0.05, kernel.shape),
                         rng.normal(0, 0.04, bias.shape)])
    model = speech_to_face.SpeechToFace(encoder, decoder)
    out = os.path.join(self.root, "export_moved")
    result = model_export.export(model, out, tflite=True)
    self.assertEqual(result["tflite_signature"], "serve_feature")
    self.assertTrue(os.path.isdir(result["saved_model"]))
    self.assertFalse(os.path.exists(result["saved_model"] + ".unchecked"))

  def test_export_mismatch_is_one_clear_line(self):
    expected = np.zeros((1, 8, 8, 3), np.float32)
    model_export.check_export("SavedModel image", expected + 1.9e-3,
                                expected)  # < half an 8-bit step
    with self.assertRaises(model_export.ExportMismatchError) as ctx:
      model_export.check_export("SavedModel image", expected + 2.1e-3,
                                  expected)
    message = str(ctx.exception)
    self.assertNotIn("\n", message)
    self.assertIn("192 of 192 values", message)

  def test_main_job_quick_mode_without_shared_data(self):
    # A stranger's machine: no ../shared/data (an empty --data_dir); the
    # embedded GRID clips and age/gender networks carry the demo.
    empty = os.path.join(self.root, "no_data")
    os.makedirs(empty, exist_ok=True)
    out = os.path.join(self.root, "demo")
    result = s2f("demo", "--quick", f"--out_dir={out}",
                 f"--data_dir={empty}", timeout=900)
    self.assertEqual(result.returncode, 0, result.stderr[-4000:])
    printed = result.stdout.replace("\n", " ")
    # It says at its start how long it will take on this machine.
    self.assertStartsWith(result.stdout, "demo: 8 stages, expected to take "
                          "about ")
    for text in ("the faces it makes are not meaningful", "Predicted face:",
                 "Report:", "never an identity"):
      self.assertIn(text, printed)
    # The printed next command works as printed, on a WAV of the user's,
    # and so does the demo's output folder as --checkpoint.
    next_line = [l for l in result.stdout.splitlines()
                 if l.startswith("Next:")][0].split(":", 1)[1].split()
    self.assertEqual(next_line[:2], ["s2f", "predict"])
    wav = demo_media.speech_wav(os.path.join(self.root, "mine.wav"))
    args = [a.replace("YOUR.wav", wav).replace(
        "face.png", os.path.join(self.root, "mine.png")) for a in
            next_line[2:]]
    predicted = s2f("predict", *args)
    self.assertEqual(predicted.returncode, 0, predicted.stderr[-3000:])
    self.assertTrue(os.path.isfile(os.path.join(self.root, "mine.png")))
    again = s2f("predict", f"--checkpoint={out}", f"--audio={wav}",
                f"--out={os.path.join(self.root, 'mine2.png')}")
    self.assertEqual(again.returncode, 0, again.stderr[-3000:])
    with open(os.path.join(out, "eval", "results.json")) as f:
      results = json.load(f)
    self.assertIn("gender", results["attributes"])  # embedded CC0 networks
    self.assertIn("Paper-scale training", result.stdout)
    self.assertTrue(os.path.exists(os.path.join(out, "predict", "face.png")))
    self.assertTrue(os.path.exists(os.path.join(out, "eval", "report.html")))
    self.assertTrue(tf.io.gfile.glob(os.path.join(out, "shards",
                                                  "train-*.tfrecord")))


if __name__ == "__main__":
  tf.test.main()
