"""Benchmark of the face-decoder data job: photos/s of each speed-up against the job as it was, measured in the same run.

The job as `train_shipped_model` runs it (HOG detector with the CNN where
HOG finds no face, 68 landmarks, alignment, the dlib128 teacher, no
flips), on the same photos, one row per step:

- `baseline`: the job before the speed-ups: dlib's C++ network, one face
  chip at a time, its 5-point shape found by HOG run again on the crop;
- `keras`: s2f's Keras copy of that network (`models/dlib_resnet.py`, its
  descriptors equal dlib's to ~4e-7), the chips of 32 photos in one call;
- `keras, box`: and the 5-point shape found in the box the job already
  detected (the crop's central square) instead of a second HOG pass;
- `keras, box, aligned`: and no detection at all on photos that are
  aligned face chips (`--aligned`; UTKFace's crops): their box is
  `ALIGNED_CROP_BOX`.

Each row loads its models (included in its time). Photos: the paper's
pairs' frames under ../shared/data when present, or `--image_dir`; the
first `--photos` of them. The last column is the mean cosine of each
row's features with the baseline's on the photos both kept.

  python experiments/bench/bench_decoder_data.py [--photos 200] \
      [--image_dir UTKFACE --aligned]
"""

import functools
import glob
import os
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from data_prep import prepare_decoder_data_lib as lib
from s2f_tf import progress
from s2f_tf.faces import face_descriptor
from s2f_tf.faces import face_detector
from tfrecords_schema import face_decoder_example
from tfrecords_schema import face_teacher

flags.DEFINE_integer("photos", 200, "Photos timed per row.")
flags.DEFINE_string("image_dir", "", "Folder of face photos (default: the "
                    "paper's pairs' frames in ../shared/data).")
flags.DEFINE_bool("aligned", False, "The photos are aligned face chips "
                  "(adds the row without detection).")
FLAGS = flags.FLAGS

PAIRS_FRAMES = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                            "shared", "data", "speech2face_examples",
                            "figures", "*", "Face_ori", "*.jpg")
CHIPS = "chips"  # The bench folder's subfolder of photos.


def _models(network, crop_margin):
  models = lib.load_models("hog_cnn", teacher=face_teacher.DLIB128)
  models.fc7 = face_descriptor.DlibFaceEmbedder(network=network,
                                                crop_margin=crop_margin)
  return models


def _features(pattern):
  out = {}
  for path in tf.io.gfile.glob(pattern):
    for record in tf.data.TFRecordDataset(path):
      example = face_decoder_example.decode(record.numpy(),
                                            face_teacher.DLIB128)
      out[example["image_id"].numpy()] = np.asarray(example["fc7"])
  return out


def main(argv):
  del argv
  paths = (sorted(glob.glob(os.path.join(FLAGS.image_dir, "**", "*.jpg"),
                            recursive=True)) if FLAGS.image_dir else
           sorted(glob.glob(PAIRS_FRAMES)))[:FLAGS.photos]
  if not paths:
    raise app.UsageError("no photos: pass --image_dir")
  folder = tempfile.mkdtemp()
  os.makedirs(os.path.join(folder, CHIPS))
  for index, path in enumerate(paths):
    os.symlink(os.path.abspath(path),
               os.path.join(folder, CHIPS, f"{index}.jpg"))
  margin = face_detector.CROP_MARGIN
  variants = [("baseline", "dlib", None, ()), ("keras", "keras", None, ()),
              ("keras, box", "keras", margin, ())]
  if FLAGS.aligned:
    variants.append(("keras, box, aligned", "keras", margin, (CHIPS,)))
  rows = []
  for name, network, crop_margin, aligned in variants:
    out = tempfile.mkdtemp()
    start = time.perf_counter()
    summary = lib.run(folder, lib.DecoderDataOptions(
        output_dir=out, teacher=face_teacher.DLIB128, flips=False,
        examples_per_shard=512, aligned_dirs=aligned),
                      functools.partial(_models, network, crop_margin))
    seconds = time.perf_counter() - start
    rows.append((name, summary["examples"], seconds,
                 _features(summary["pattern"])))
  baseline, base_features = len(paths) / rows[0][2], rows[0][3]
  print(f"decoder data job, {len(paths)} photos, "
        f"{progress.cpu_description()}, one process, model loading included")
  print("| job | faces | seconds | photos/s | ratio | cos to baseline |")
  print("|---|---|---|---|---|---|")
  for name, examples, seconds, features in rows:
    rate = len(paths) / seconds
    shared = sorted(set(features) & set(base_features))
    cos = np.mean([np.dot(features[k], base_features[k]) /
                   np.linalg.norm(features[k]) /
                   np.linalg.norm(base_features[k]) for k in shared])
    print(f"| {name} | {examples} | {seconds:.1f} | {rate:.2f} | "
          f"{rate / baseline:.2f} | {cos:.4f} |")


if __name__ == "__main__":
  app.run(main)
