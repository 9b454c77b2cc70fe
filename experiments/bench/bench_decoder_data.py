"""Benchmark of the face-decoder data job: photos/s with dlib's own descriptor network against the batched Keras copy.

The job as `train_shipped_model` runs it (HOG detector with the CNN where
HOG finds no face, 68 landmarks, alignment, the dlib128 teacher, no
flips), on the same photos, once per teacher network:

- `dlib` (the baseline, the job before the copy existed): dlib's C++
  network, one face chip at a time;
- `keras`: s2f's Keras copy of that network (`models/dlib_resnet.py`), the
  chips of 32 photos in one call (the job's default now).

The features agree to float noise (tests/test_dlib_resnet.py). Photos: the
paper's pairs' frames under ../shared/data when present (`--image_dir`
otherwise), the first `--photos` of them.

  python experiments/bench/bench_decoder_data.py [--photos 200]
"""

import functools
import glob
import os
import tempfile
import time

from absl import app
from absl import flags

from data_prep import prepare_decoder_data_lib as lib
from s2f_tf.faces import face_descriptor
from tfrecords_schema import face_teacher

flags.DEFINE_integer("photos", 200, "Photos timed per row.")
flags.DEFINE_string("image_dir", "", "Folder of face photos (default: the "
                    "paper's pairs' frames in ../shared/data).")
FLAGS = flags.FLAGS

PAIRS_FRAMES = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                            "shared", "data", "speech2face_examples",
                            "figures", "*", "Face_ori", "*.jpg")


def _models(network):
  models = lib.load_models("hog_cnn", teacher=face_teacher.DLIB128)
  models.fc7 = face_descriptor.DlibFaceEmbedder(network=network)
  return models


def main(argv):
  del argv
  paths = (sorted(glob.glob(os.path.join(FLAGS.image_dir, "**", "*.jpg"),
                            recursive=True)) if FLAGS.image_dir else
           sorted(glob.glob(PAIRS_FRAMES)))[:FLAGS.photos]
  if not paths:
    raise app.UsageError("no photos: pass --image_dir")
  folder = tempfile.mkdtemp()
  for index, path in enumerate(paths):
    os.symlink(os.path.abspath(path), os.path.join(folder, f"{index}.jpg"))
  rows = []
  for network in ("dlib", "keras"):
    out = tempfile.mkdtemp()
    start = time.perf_counter()
    summary = lib.run(folder, lib.DecoderDataOptions(
        output_dir=out, teacher=face_teacher.DLIB128, flips=False,
        examples_per_shard=512), functools.partial(_models, network))
    seconds = time.perf_counter() - start
    rows.append((network, summary["examples"], seconds))
  baseline = len(paths) / rows[0][2]
  print(f"decoder data job, {len(paths)} photos, {os.cpu_count()} cores "
        "(model loading included)")
  print("| teacher network | faces | seconds | photos/s | ratio |")
  print("|---|---|---|---|---|")
  for network, examples, seconds in rows:
    rate = len(paths) / seconds
    print(f"| {network} | {examples} | {seconds:.1f} | {rate:.2f} | "
          f"{rate / baseline:.2f} |")


if __name__ == "__main__":
  app.run(main)
