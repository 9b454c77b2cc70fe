"""Builds real media for tests: espeak-ng speech, ffmpeg talking-face videos."""

import os
import subprocess

import cv2
import numpy as np
import skimage.data

SENTENCE = ("The quick brown fox jumps over the lazy dog while the speaker "
            "keeps talking clearly for several seconds.")


def speech_wav(path, voice="en", text=SENTENCE, speed=140):
  """Real synthetic speech from espeak-ng (22.05 kHz mono WAV)."""
  subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path,
                  text], check=True, capture_output=True)
  return path


def astronaut(side=720):
  """scikit-image's astronaut photo (a real face), resized to side x side."""
  return cv2.resize(skimage.data.astronaut(), (side, side))


def write_png(path, rgb):
  cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
  return path


def face_video(path, rgb, audio_path=None, seconds=None, silent_audio=False):
  """A still-image MP4 of `rgb` with `audio_path` (or silence, or no audio)."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image = write_png(path + ".png", rgb)
  command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-loop", "1",
             "-framerate", "10", "-i", image]
  if audio_path:
    command += ["-i", audio_path]
  elif silent_audio:
    command += ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
  if seconds:
    command += ["-t", str(seconds)]
  command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-vf",
              "scale=trunc(iw/2)*2:trunc(ih/2)*2"]
  if audio_path or silent_audio:
    command += ["-c:a", "aac", "-shortest"]
  subprocess.run(command + [path], check=True, capture_output=True)
  os.remove(image)
  return path


def no_face_image(side=480):
  """A smooth colour gradient: no face anywhere."""
  y, x = np.mgrid[0:side, 0:side]
  return np.stack([x * 255 // side, y * 255 // side,
                   np.full_like(x, 128)], -1).astype(np.uint8)


def two_faces():
  """Two equally large real faces side by side (the astronaut's head, twice)."""
  head = astronaut(512)[0:300, 90:340]
  pair = np.concatenate([head, head[:, ::-1]], axis=1)  # 500 x 300
  return cv2.resize(pair, (640, 384))
