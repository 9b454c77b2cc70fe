"""`s2f serve`: a local web page that records or uploads a voice and shows the predicted face.

A standard-library HTTP server (no framework: Gradio pulls its front end
and fonts from CDNs and sends telemetry unless configured, and s2f needs
one page; WORKSPACE.md) with one static page (`serve_page.html`, no
external resources). The model is loaded once; requests go through a
bounded queue to one worker thread, so at most `queue_size` recordings wait
and the rest are told the server is busy. Uploads are size-limited and
type-checked (extension and content type) before anything is decoded, and
live only in a temporary folder that is removed after each request.

Routes: GET / (the page), GET /examples (bundled example voices), POST
/predict (the body is the recording; `X-Filename` names it, or
`?example=NAME`), answering JSON: the face as a PNG data URL with its
caption, the attribute instruments' reading of the face, the clip's length
and the time taken; or {'error': one plain line}.
"""

import base64
import dataclasses
import glob
import http.server
import json
import os
import queue
import shutil
import tempfile
import threading
import time
import urllib.parse

import cv2

from s2f_tf import media
from s2f_tf import speech_to_face
from s2f_tf.audio import audio_format
from s2f_tf.metrics import attributes

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "serve_page.html")
# The embedded demo data (experiments/demo_data/: the CC0 age and gender
# networks, the GRID example voices), read by path.
_DEMO_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "experiments", "demo_data")
EXAMPLES_DIR = os.path.join(_DEMO_DATA, "grid_av")
ATTRIBUTE_MODELS = os.path.join(_DEMO_DATA, "models", "dlib_age_gender")
MAX_UPLOAD_MB = 20
# A refused upload of up to this size is read off before its 413 / 415
# line, so the client reads the line; a larger one is cut off.
DRAIN_MB = 256
QUEUE_SIZE = 4  # Recordings waiting behind the one being predicted.
WAIT_SECONDS = 120  # A request waits at most this long for its result.
CAPTION = ("An average-looking face correlated with the voice — not the "
           "speaker's face, and never an identity (Speech2Face, Sec. 2).")
CONTENT_TYPES = ("audio/", "video/", "application/octet-stream")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
  checkpoint: str
  decoder_path: str = ""
  host: str = "127.0.0.1"
  port: int = 8080
  max_upload_mb: int = MAX_UPLOAD_MB
  queue_size: int = QUEUE_SIZE


class RequestError(ValueError):
  """A request the page answers with one plain line and an HTTP status."""

  def __init__(self, message, status=400):
    super().__init__(message)
    self.status = status


def check_upload(filename, content_type, length, max_bytes):
  """Raises RequestError unless the upload may be decoded: a media
  extension, an audio/video content type, and at most `max_bytes`."""
  if length <= 0:
    raise RequestError("The recording is empty.")
  if length > max_bytes:
    raise RequestError(f"The file is larger than {max_bytes // 2**20} MB.",
                       413)
  extension = os.path.splitext(filename or "")[1].lower()
  if extension not in media.MEDIA_EXTENSIONS:
    raise RequestError(f"'{extension or filename}' is not an audio or video "
                       "file s2f reads (" + ", ".join(media.MEDIA_EXTENSIONS)
                       + ").", 415)
  base_type = (content_type or "application/octet-stream").split(";")[0]
  if not base_type.startswith(CONTENT_TYPES):
    raise RequestError(f"Content type {base_type} is not audio or video.",
                       415)
  return extension


def examples():
  """{name: path} of the bundled example voices (GRID clips, CC BY 4.0)."""
  return {os.path.splitext(os.path.basename(p))[0]: p
          for p in sorted(glob.glob(os.path.join(EXAMPLES_DIR, "*.mpg")))}


class Predictor:
  """The model, loaded once, and the instruments that read its face."""

  def __init__(self, checkpoint, decoder_path=""):
    self.model = speech_to_face.SpeechToFace.from_workdir(checkpoint,
                                                          decoder_path)
    if self.model.decoder is None:
      raise ValueError(f"{checkpoint} has no face decoder: give --decoder")
    self.classifier = attributes.DlibAttributeClassifier(ATTRIBUTE_MODELS)

  def __call__(self, path):
    started = time.perf_counter()
    # The length of the decoded audio: a browser recording's container
    # (webm / ogg from MediaRecorder) often states no duration at all.
    waveform = media.load_speech(path)
    duration = len(waveform) / audio_format.SAMPLE_RATE
    _, image = self.model.predict_waveform(waveform)
    p = self.classifier.probabilities([image])
    female = float(p["gender"][0][self.classifier.gender_labels.index(
        "female")])
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return {"image": "data:image/png;base64," + base64.b64encode(
                png.tobytes()).decode("ascii"),
            "caption": CAPTION,
            "female_probability": female,
            "age": float(p["age"][0] @ self.classifier.age_weights),
            "clip_seconds": float(duration),
            "seconds": time.perf_counter() - started}


class Worker:
  """One thread predicting queued jobs in order; a full queue is 'busy'."""

  def __init__(self, predict, queue_size):
    self._predict = predict
    self._jobs = queue.Queue(maxsize=queue_size)
    threading.Thread(target=self._run, daemon=True).start()

  def _run(self):
    while True:
      job = self._jobs.get()
      try:
        job["result"] = self._predict(job["path"])
      except media.MediaError as e:
        job["result"] = {"error": _plain(e)}
      except Exception as e:  # pylint: disable=broad-except
        job["result"] = {"error": "The recording could not be turned into a "
                                  f"face ({type(e).__name__})."}
      job["done"].set()

  def submit(self, path):
    """The job's result dict; RequestError 503 when the queue is full."""
    job = {"path": path, "done": threading.Event(), "result": None}
    try:
      self._jobs.put_nowait(job)
    except queue.Full:
      raise RequestError("The server is busy with other recordings; try "
                         "again in a few seconds.", 503) from None
    if not job["done"].wait(WAIT_SECONDS):
      raise RequestError("The server took too long; try again.", 503)
    return job["result"]


def _plain(error):
  """A MediaError as a sentence without the temporary file's path."""
  text = " ".join(str(error).split())
  if ": " in text and text.split(": ", 1)[0].startswith(("/", "\\")):
    text = text.split(": ", 1)[1]
  messages = {"too_short": "The recording is too short: speak for at least "
                           f"{media.MIN_INFERENCE_SECONDS:g} s.",
              "silence": "The recording is silent: check the microphone.",
              "no_audio": "The file has no sound.",
              "unreadable_media": "The file could not be read as audio."}
  return messages.get(getattr(error, "reason", ""), text)


def _discard(stream, length):
  """Reads `length` bytes of `stream` and drops them (a refused body)."""
  while length > 0:
    chunk = stream.read(min(length, 1 << 20))
    if not chunk:
      return
    length -= len(chunk)


def make_handler(worker, options):
  """The request handler class bound to one worker and its limits."""
  page = open(PAGE, "rb").read()
  voices = examples()
  max_bytes = options.max_upload_mb * 2**20

  class Handler(http.server.BaseHTTPRequestHandler):
    """GET /, GET /examples, POST /predict."""

    server_version = "s2f"

    def log_message(self, fmt, *args):  # quiet: one line per request
      del fmt, args

    def _send(self, status, body, content_type="application/json"):
      data = body if isinstance(body, bytes) else json.dumps(body).encode()
      self.send_response(status)
      self.send_header("Content-Type", content_type)
      self.send_header("Content-Length", str(len(data)))
      self.send_header("Cache-Control", "no-store")
      self.end_headers()
      self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
      path = urllib.parse.urlparse(self.path).path
      if path == "/":
        self._send(200, page, "text/html; charset=utf-8")
      elif path == "/examples":
        self._send(200, {"examples": sorted(voices),
                         "max_upload_bytes": max_bytes})
      else:
        self._send(404, {"error": "Not found."})

    def do_POST(self):  # pylint: disable=invalid-name
      url = urllib.parse.urlparse(self.path)
      if url.path != "/predict":
        self._send(404, {"error": "Not found."})
        return
      folder = tempfile.mkdtemp(prefix="s2f_serve_")
      try:
        example = urllib.parse.parse_qs(url.query).get("example", [""])[0]
        length = int(self.headers.get("Content-Length") or 0)
        if example:
          if example not in voices:
            raise RequestError(f"No example voice {example!r}.", 404)
          path = voices[example]
        else:
          extension = check_upload(self.headers.get("X-Filename", ""),
                                   self.headers.get("Content-Type", ""),
                                   length, max_bytes)
          path = os.path.join(folder, "upload" + extension)
          with open(path, "wb") as f:
            left = length
            while left:
              chunk = self.rfile.read(min(left, 1 << 20))
              if not chunk:
                raise RequestError("The upload was cut off.")
              f.write(chunk)
              left -= len(chunk)
        result = worker.submit(path)
        self._send(200 if "error" not in result else 422, result)
      except RequestError as e:
        if e.status in (413, 415):
          # The body was not read. A client still sending it would see the
          # connection reset instead of this line, so read it off first,
          # up to DRAIN_MB (beyond that, close).
          if length <= DRAIN_MB * 2**20:
            _discard(self.rfile, length)
          else:
            self.close_connection = True
        self._send(e.status, {"error": str(e)})
      finally:
        shutil.rmtree(folder, ignore_errors=True)

  return Handler


def serve(options, ready=None):
  """Loads the model, then serves until interrupted. `ready(url)` is
  called once the port is open."""
  predictor = Predictor(options.checkpoint, options.decoder_path)
  # A first prediction warms the graph, so the first visitor waits no more
  # than the next.
  predictor(next(iter(examples().values())))
  worker = Worker(predictor, options.queue_size)
  server = http.server.ThreadingHTTPServer(
      (options.host, options.port), make_handler(worker, options))
  server.daemon_threads = True
  url = f"http://{options.host}:{server.server_address[1]}/"
  if ready:
    ready(url)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()
