"""The evaluation binary end to end on tiny shards and a tiny trained model."""

import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import tensorflow as tf

from experiments import evaluation_lib
from tests import binaries
from tests import shared_data
from tests import tiny_model

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


class GenderByBrightness:
  """A fake attribute classifier: the metric code, not a model, is tested."""

  def classify(self, images):
    return {"gender": ["female" if np.mean(i) > 100 else "male"
                       for i in images]}


class EvaluationTest(tf.test.TestCase):

  def test_report_end_to_end_and_renders_in_chromium(self):
    root = self.create_tempdir().full_path
    workdir, test, decoder_path = tiny_model.tiny_run(root)
    out = os.path.join(root, "eval")
    config = evaluation_lib.EvalConfig(
        workdir=workdir, test_pattern=test, out_dir=out,
        decoder_path=decoder_path, num_craniofacial=12, database_size=10,
        ablations=f"same_run={workdir}")
    results = evaluation_lib.evaluate(config, classifier=GenderByBrightness())
    self.assertEqual(results["examples"], 12)
    self.assertEqual(results["speakers"], 3)
    for segment in ("6s", "3s"):
      self.assertEqual(results["table2"][segment]["pairs"], 12)
      self.assertBetween(results["table2"][segment]["angle_deg"][0], 0, 180)
      self.assertEqual(results["table3"][segment]["chance"][1], 10.0)
    self.assertEqual(results["ablations"]["same_run"]["table2"],
                     results["table2"]["6s"])
    self.assertLen(results["craniofacial"], 13)
    self.assertIn("gender", results["attributes"])
    with open(os.path.join(out, evaluation_lib.RESULTS_FILE)) as f:
      self.assertEqual(json.load(f)["examples"], 12)
    page = open(os.path.join(out, evaluation_lib.REPORT_FILE)).read()
    for text in ("Table 2", "Table 3", "45.75", "10.92", "never be used to "
                 "identify", "data:image/png;base64,", "Craniofacial"):
      self.assertIn(text, page)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
      self.skipTest("chromium not installed (.ci/run installs it)")
    shot = os.path.join(root, "report.png")
    subprocess.run([chromium, *CHROMIUM_FLAGS,
                    f"--user-data-dir={os.path.join(root, 'chrome')}",
                    f"--screenshot={shot}", "--window-size=1200,2400",
                    "file://" + os.path.join(out, evaluation_lib.REPORT_FILE)],
                   check=True, capture_output=True, timeout=120)
    image = cv2.imread(shot)
    self.assertEqual(image.shape[:2], (2400, 1200))
    # A rendered page: text, tables and plots, not a blank white screen.
    self.assertGreater(float((image < 200).mean()), 0.01)

  def test_binary_runs(self):
    root = self.create_tempdir().full_path
    workdir, test, _ = tiny_model.tiny_run(root)
    out = os.path.join(root, "eval")
    result = binaries.run(
        [os.path.join(shared_data.REPO_ROOT, "experiments", "evaluate.py"),
         f"--workdir={workdir}", f"--test_pattern={test}", f"--out_dir={out}",
         "--segments=3", "--num_tsne=12"])
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("report.html", result.stdout)
    with open(os.path.join(out, evaluation_lib.RESULTS_FILE)) as f:
      results = json.load(f)
    self.assertEqual(list(results["table2"]), ["3s"])
    self.assertNotIn("craniofacial", results)


if __name__ == "__main__":
  tf.test.main()
