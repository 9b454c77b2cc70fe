"""The model that ships with s2f: used without --checkpoint, small, complete, and packaged faithfully."""

import os
import re
import subprocess
import sys
import time
import urllib.request
import json

import cv2
import numpy as np
import tensorflow as tf

from s2f_tf import run_record
from s2f_tf import speech_to_face
from s2f_tf import train_config
from tests import binaries
from tests import shared_data
from tests import tiny_model

GRID_CLIP = os.path.join(shared_data.REPO_ROOT, "experiments", "demo_data",
                         "grid_av", "bbaf2n.mpg")
MAX_MB = 40  # The budget for encoder + decoder + config.


class ShippedModelTest(tf.test.TestCase):

  def test_folder_is_complete_and_small(self):
    folder = speech_to_face.SHIPPED_MODEL_DIR
    config = train_config.TrainConfig.load(os.path.join(
        folder, run_record.CONFIG_FILE))
    self.assertEqual((config.encoder, config.teacher), ("ge2e", "dlib128"))
    self.assertEqual(config.decoder_path, speech_to_face.MODEL_DECODER_FILE)
    for name in (speech_to_face.MODEL_DECODER_FILE, "MODEL_CARD.md"):
      self.assertTrue(os.path.isfile(os.path.join(folder, name)), name)
    size = sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(folder) for f in files)
    self.assertLess(size / 2 ** 20, MAX_MB)
    with open(os.path.join(folder, "MODEL_CARD.md")) as f:
      card = f.read()
    for needed in ("research use", "UTKFace", "Apache", "not the speaker's "
                   "face"):
      self.assertIn(needed, card)

  def test_predict_without_checkpoint_writes_a_captioned_face(self):
    out = os.path.join(self.create_tempdir().full_path, "face.png")
    log = binaries.run_ok(["-m", "s2f_tf.app.cli", "predict", "--audio",
                           GRID_CLIP, "--out", out], 600)
    self.assertTrue(os.path.isfile(out), log)
    image = cv2.imread(out)
    self.assertEqual(image.shape, (224 + 32, 224, 3))  # face + caption band
    self.assertGreater(float(image[:224].std()), 10.0)  # not a blank image
    feature = np.load(out[:-4] + ".npy")
    self.assertEqual(feature.shape, (128,))
    # The same clip through the Python API (README: three lines) gives the
    # same feature and the face the PNG holds.
    import s2f_tf  # pylint: disable=g-import-not-at-top
    model = s2f_tf.load()
    api_feature, face = model.predict_file(GRID_CLIP)
    self.assertAllClose(api_feature, feature, atol=1e-5)
    self.assertEqual((face.shape, face.dtype), ((224, 224, 3), np.uint8))
    self.assertLessEqual(np.abs(face.astype(int) - image[:224, :, ::-1]).mean(),
                         1.0)

  def test_serve_without_checkpoint_answers(self):
    server = subprocess.Popen(
        [sys.executable, "-m", "s2f_tf.app.cli", "serve", "--port=0"],
        cwd=shared_data.REPO_ROOT, env=binaries._env(),  # pylint: disable=protected-access
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
      url, deadline = None, time.time() + 300
      while url is None and time.time() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
          self.fail("s2f serve died: " + server.stderr.read())
        found = re.search(r"Serving on (http://\S+)", line)
        url = found.group(1) if found else None
      self.assertIsNotNone(url)
      with open(GRID_CLIP, "rb") as f:
        request = urllib.request.Request(
            url + "predict", data=f.read(), method="POST", headers={
                "X-Filename": "clip.mpg", "Content-Type": "video/mpeg"})
      with urllib.request.urlopen(request, timeout=300) as response:
        body = json.loads(response.read())
      self.assertTrue(body["image"].startswith("data:image/png"))
    finally:
      server.terminate()
      server.wait(30)

  def test_package_keeps_the_runs_predictions(self):
    root = self.create_tempdir().full_path
    workdir, _, decoder_path = tiny_model.tiny_run(root)
    card = os.path.join(root, "MODEL_CARD.md")
    with open(card, "w") as f:
      f.write("card")
    folder = os.path.join(root, "packaged")
    binaries.run_ok(["-m", "experiments.package_model", "--encoder_run",
                     workdir, "--decoder", decoder_path, "--out_dir", folder,
                     "--file", card], 600)
    self.assertTrue(os.path.isfile(os.path.join(folder, "MODEL_CARD.md")))
    waveform = np.random.RandomState(0).uniform(
        -0.3, 0.3, (1, 32_000)).astype(np.float32)
    run = speech_to_face.SpeechToFace.from_workdir(workdir)(waveform)
    packaged = speech_to_face.SpeechToFace.from_workdir(folder)(waveform)
    for key in ("feature", "image"):
      self.assertAllClose(packaged[key], run[key], atol=1e-6)
    # Moved elsewhere, the folder still finds its own decoder.
    moved = os.path.join(root, "moved")
    os.rename(folder, moved)
    os.remove(decoder_path)
    again = speech_to_face.SpeechToFace.from_workdir(moved)(waveform)
    self.assertAllClose(again["image"], run["image"], atol=1e-6)
    # A config.json that does not describe the checkpoint is an error, not
    # a silent partial load (which once gave a random ge2e head).
    config = train_config.TrainConfig.load(os.path.join(
        moved, run_record.CONFIG_FILE)).replace(encoder="ge2e",
                                                head_hidden=16)
    with open(os.path.join(moved, run_record.CONFIG_FILE), "w") as f:
      f.write(config.to_json())
    with self.assertRaisesRegex(ValueError, "does not hold a --encoder=ge2e"):
      speech_to_face.load_encoder(moved)


if __name__ == "__main__":
  tf.test.main()
