"""Builds real media for tests: espeak-ng speech, ffmpeg talking-face videos."""

import cv2
import numpy as np
import skimage.data

from experiments.app import demo_media

speech_wav = demo_media.speech_wav


def astronaut(side=720):
  """scikit-image's astronaut photo (a real face), resized to side x side."""
  return cv2.resize(skimage.data.astronaut(), (side, side))


def write_png(path, rgb):
  cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
  return path


face_video = demo_media.still_video


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
