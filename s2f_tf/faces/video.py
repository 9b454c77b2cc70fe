"""Video frames with ffmpeg: duration and one RGB frame at a given time."""

import json
import shutil
import subprocess

import cv2
import numpy as np

from s2f_tf.audio import media


def _ffprobe():
  path = shutil.which("ffprobe")
  if path is None:
    raise RuntimeError("ffprobe is not installed; `apt-get install ffmpeg`")
  return path


def probe(path):
  """(duration in s or None, has_video, has_audio) of a media file."""
  result = subprocess.run(
      [_ffprobe(), "-v", "error", "-show_entries",
       "format=duration:stream=codec_type", "-of", "json", path],
      capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise media.UnreadableMediaError(
        f"{path}: ffprobe could not read it: {result.stderr.strip()[-300:]}")
  info = json.loads(result.stdout or "{}")
  kinds = {s.get("codec_type") for s in info.get("streams", [])}
  duration = info.get("format", {}).get("duration")
  return (float(duration) if duration not in (None, "N/A") else None,
          "video" in kinds, "audio" in kinds)


def read_frame(path, time_s):
  """The RGB frame (h, w, 3) uint8 of `path` at `time_s` seconds."""
  command = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{max(time_s, 0):.3f}",
             "-i", path, "-frames:v", "1", "-f", "image2pipe", "-vcodec",
             "png", "pipe:1"]
  result = subprocess.run(command, capture_output=True, check=False)
  if result.returncode != 0 or not result.stdout:
    raise media.UnreadableMediaError(
        f"{path}: no video frame at {time_s:.2f} s: "
        f"{result.stderr.decode('utf-8', 'replace').strip()[-300:]}")
  bgr = cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_COLOR)
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path):
  """An image file as RGB uint8, or UnreadableMediaError."""
  bgr = cv2.imread(path, cv2.IMREAD_COLOR)
  if bgr is None:
    raise media.UnreadableMediaError(f"{path}: not a readable image")
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
