"""The paper's public pairs as s2f's training data: the committed split's clips, the validation speakers, the face decoder's photo folder.

The split file (`clip_sources.PAIRS_SPLIT_FILE`) fixes train and test by
speaker; the training speakers are cut again into fitting and validation
speakers by a hash, so every choice is made without reading the test
split; the decoder's photos are the fitting speakers' frames, GRID's and
any extra faces, linked into one folder the decoder-data job reads.
"""

import glob
import hashlib
import os

import cv2

from data_prep import clip_sources
from s2f_tf import media


def split_specs(pairs_dir):
  """(train specs, test specs) of the committed speaker-disjoint split."""
  specs = clip_sources.speech2face_pairs(pairs_dir,
                                         clip_sources.PAIRS_SPLIT_FILE)
  return ([s for s in specs if s.split == "train"],
          [s for s in specs if s.split == "test"])


VALIDATION_FRACTION = 0.15  # Training speakers held out for model choices.


def validation_split(train_specs, fraction=VALIDATION_FRACTION):
  """(fit specs, validation specs): the training speakers split by a hash
  of the speaker id, so every choice (steps, widths, learning rates,
  rescaling) is made without reading the test split."""
  def held(speaker):
    digest = hashlib.sha1(f"validation:{speaker}".encode()).hexdigest()
    return int(digest[:8], 16) / float(16 ** 8) < fraction
  return ([s for s in train_specs if not held(s.speaker_id)],
          [s for s in train_specs if held(s.speaker_id)])


def _link(source, target):
  if not os.path.exists(target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.symlink(os.path.abspath(source), target)


PAIRS_PHOTOS = "pairs"  # The training clips' frames among decoder photos.
EXTRA_FACES = "extra"  # The --extra_faces folder among them.


def decoder_photo_id(spec):
  """A training clip's frame's path under the decoder's photo folder, which
  the decoder-data job records as the face's image id."""
  return os.path.join(PAIRS_PHOTOS, spec.dataset,
                      os.path.basename(spec.face_image_path))


def decoder_photos(train_specs, photo_dir, grid_dir="", extra_faces=""):
  """Links the face decoder's photos into `photo_dir`: the training
  speakers' real frames (never a test speaker's), the middle frame of each
  GRID clip in `grid_dir`, and every image under `extra_faces`. Returns
  the number of photos."""
  for spec in train_specs:
    _link(spec.face_image_path, os.path.join(photo_dir,
                                             decoder_photo_id(spec)))
  for clip in sorted(glob.glob(os.path.join(grid_dir, "*.mpg"))) if \
      grid_dir else []:
    target = os.path.join(photo_dir, "grid",
                          os.path.basename(clip)[:-4] + ".jpg")
    if not os.path.exists(target):
      duration = media.probe(clip)[0] or 0.0
      frame = media.read_frame(clip, duration / 2.0)
      os.makedirs(os.path.dirname(target), exist_ok=True)
      cv2.imwrite(target, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  if extra_faces:
    _link(extra_faces, os.path.join(photo_dir, EXTRA_FACES))
  return sum(len(files) for _, _, files in os.walk(photo_dir,
                                                   followlinks=True))
