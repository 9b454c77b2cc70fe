"""Paths to ../shared/data (real speech, faces, talking-face clips) for tests."""

import os
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data")
FSDD_DIR = os.path.join(SHARED_DATA, "speech_fsdd", "recordings")
FACES_DIR = os.path.join(SHARED_DATA, "faces")
GRID_DIR = os.path.join(SHARED_DATA, "grid_av")
ATTRIBUTE_MODELS = os.path.join(SHARED_DATA, "models", "dlib_age_gender")


def require(path):
  """Skips the calling test with a clear message when shared data is absent."""
  if not os.path.exists(path):
    raise unittest.SkipTest(
        f"{path} is absent: these tests read the project's real data from "
        "../shared/data beside the repository checkout")
  return path
PAIRS_DIR = os.path.join(SHARED_DATA, "speech2face_examples")
