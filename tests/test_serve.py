"""`s2f serve` in a real browser: headless Chromium with a fake microphone fed from real speech."""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import tensorflow as tf

from experiments.app import demo_media
from s2f_tf.app import serve_lib
from tests import binaries
from tests import shared_data
from tests import tiny_model

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  "--autoplay-policy=no-user-gesture-required"]


def _rss_mb(pid):
  with open(f"/proc/{pid}/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024.0
  return 0.0


def _post(url, body=b"", headers=None, timeout=300):
  request = urllib.request.Request(url, data=body, headers=headers or {},
                                   method="POST")
  try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
      return response.status, json.loads(response.read())
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read())


class ServeTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tf.compat.v1.test.get_temp_dir() + "/s2f_serve"
    cls.workdir, _, _ = tiny_model.tiny_run(cls.root)
    cls.server = subprocess.Popen(
        [sys.executable, "-m", "s2f_tf.app.cli", "serve",
         f"--checkpoint={cls.workdir}", "--port=0", "--max_upload_mb=1",
         "--queue_size=2"], cwd=shared_data.REPO_ROOT, env=binaries._env(),  # pylint: disable=protected-access
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    cls.url = None
    while time.time() < deadline and cls.url is None:
      line = cls.server.stdout.readline()
      if not line and cls.server.poll() is not None:
        raise AssertionError("s2f serve died: " + cls.server.stderr.read())
      found = re.search(r"Serving on (http://\S+)", line)
      if found:
        cls.url = found.group(1)
    if cls.url is None:
      raise AssertionError("s2f serve did not start")

  @classmethod
  def tearDownClass(cls):
    cls.server.terminate()
    cls.server.wait(30)
    super().tearDownClass()

  def test_records_from_a_fake_microphone_and_shows_the_face(self):
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
      self.skipTest("chromium and chromedriver are not installed (.ci/run "
                    "installs them)")
    from selenium import webdriver  # pylint: disable=g-import-not-at-top
    from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
    from selenium.webdriver.support import expected_conditions  # pylint: disable=g-import-not-at-top
    from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
    speech = demo_media.speech_wav(os.path.join(self.root, "mic.wav"))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [
        f"--use-file-for-fake-audio-capture={speech}",
        f"--user-data-dir={os.path.join(self.root, 'chrome')}"]:
      options.add_argument(flag)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(driver_path))
    try:
      driver.get(self.url)
      self.assertIn("not the speaker", driver.find_element(
          By.CLASS_NAME, "notice").text)
      driver.find_element(By.ID, "record").click()
      recording = time.perf_counter()
      time.sleep(4.5)
      driver.find_element(By.ID, "stop").click()
      recorded = time.perf_counter() - recording
      wait = WebDriverWait(driver, 180)
      wait.until(expected_conditions.visibility_of_element_located(
          (By.ID, "face")))
      self.assertTrue(driver.find_element(By.ID, "face").get_attribute(
          "src").startswith("data:image/png;base64,"))
      self.assertIn("never an identity",
                    driver.find_element(By.ID, "caption").text)
      readings = driver.find_element(By.ID, "readings").text
      self.assertIn("P(female)", readings)
      # The clip length is the decoded audio's (a MediaRecorder webm states
      # none: it read "Clip 0.0 s").
      clip = float(re.search(r"Clip ([0-9.]+) s", readings).group(1))
      self.assertAlmostEqual(clip, recorded, delta=1.0)
      driver.save_screenshot(os.path.join(self.root, "serve.png"))
      # A broken upload: a plain message, no stack trace.
      bad = os.path.join(self.root, "broken.wav")
      with open(bad, "wb") as f:
        f.write(b"RIFF not really a wav")
      driver.find_element(By.ID, "file").send_keys(bad)
      wait.until(lambda d: d.find_element(By.ID, "message").text)
      message = driver.find_element(By.ID, "message").text
      self.assertIn("could not be read", message)
      self.assertNotIn("Traceback", message)
      # Too large for the server's limit: the page says so without sending.
      big = os.path.join(self.root, "big.wav")
      with open(big, "wb") as f:
        f.write(b"\0" * (2 << 20))
      driver.find_element(By.ID, "file").send_keys(big)
      wait.until(lambda d: "larger" in d.find_element(By.ID, "message").text)
      self.assertIn("larger than 1 MB",
                    driver.find_element(By.ID, "message").text)
    finally:
      driver.quit()

  def test_bad_requests_get_one_plain_line(self):
    predict = self.url + "predict"
    # 30 MB, more than the socket buffers hold: the server reads the body
    # off before its line (it used to close on it: a reset, not the 413).
    status, body = _post(predict, b"x" * (30 << 20), {
        "X-Filename": "big.wav", "Content-Type": "audio/wav"})
    self.assertEqual(status, 413)
    self.assertIn("larger than 1 MB", body["error"])
    status, body = _post(predict, b"hello", {
        "X-Filename": "notes.txt", "Content-Type": "text/plain"})
    self.assertEqual(status, 415)
    short = demo_media.speech_wav(os.path.join(self.root, "short.wav"),
                                  text="hi")
    with open(short, "rb") as f:
      status, body = _post(predict, f.read(), {
          "X-Filename": "short.wav", "Content-Type": "audio/wav"})
    self.assertEqual(status, 422)
    self.assertIn("too short", body["error"])

  def test_twenty_concurrent_requests_are_answered_in_bounded_memory(self):
    example = next(iter(serve_lib.examples()))
    url = f"{self.url}predict?example={example}"
    _post(url)  # warm
    before = _rss_mb(self.server.pid)
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
      answers = list(pool.map(lambda _: _post(url), range(20)))
    after = _rss_mb(self.server.pid)
    statuses = [s for s, _ in answers]
    self.assertLen(answers, 20)
    for status, body in answers:
      if status == 200:
        self.assertTrue(body["image"].startswith("data:image/png"))
      else:
        self.assertEqual(status, 503)
        self.assertIn("busy", body["error"])
    self.assertIn(200, statuses)
    self.assertIn(503, statuses)  # a queue of 2 cannot hold 20
    self.assertLess(after - before, 300.0)

  def test_help_lists_serve_flags_and_bad_checkpoint_is_one_line(self):
    result = binaries.run(["-m", "s2f_tf.app.cli", "serve", "--help"], 120)
    self.assertEqual(result.returncode, 0)
    for flag in ("--port", "--host", "--max_upload_mb", "--queue_size",
                 "--checkpoint"):
      self.assertIn(flag, result.stdout)
    self.assertNotIn("--tflite", result.stdout)
    empty = os.path.join(self.root, "not_a_run")
    os.makedirs(empty, exist_ok=True)
    result = binaries.run(["-m", "s2f_tf.app.cli", "serve",
                           f"--checkpoint={empty}", "--port=0"], 300)
    self.assertEqual(result.returncode, 1)
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    self.assertLen(lines, 1, result.stderr)
    self.assertTrue(lines[0].startswith("error: "), lines[0])
    self.assertNotIn("Serving on", result.stdout)


if __name__ == "__main__":
  tf.test.main()
