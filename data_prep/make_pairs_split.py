r"""Writes the speaker-disjoint split file of the project page's voice/face pairs.

  python -m data_prep.make_pairs_split --pairs_dir=speech2face.github.io \
      --out=data_prep/splits/speech2face_examples.csv

The committed file (`clip_sources.PAIRS_SPLIT_FILE`) was written by this
command with the defaults; the shard job reads it (`--split_file`).
"""

import csv
import os

from absl import flags

from data_prep import clip_sources
from s2f_tf import console

flags.DEFINE_string("pairs_dir", None, "Root of the project page's pairs "
                    "(figures/avspeech_res, figures/voxceleb, pairs.csv).",
                    required=True)
flags.DEFINE_string("out", clip_sources.PAIRS_SPLIT_FILE, "Split file to write.")
flags.DEFINE_float("test_fraction", clip_sources.PAIRS_TEST_FRACTION,
                   "Fraction of speakers (beyond VoxCeleb1's test "
                   "celebrities) in test.")
flags.DEFINE_string("split_salt", "s2f", "Salt of the speaker hash.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  rows = clip_sources.pairs_split_rows(FLAGS.pairs_dir, FLAGS.test_fraction,
                                       FLAGS.split_salt)
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
  with open(FLAGS.out + ".tmp", "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(("clip", "speaker", "split"))
    writer.writerows(rows)
  os.replace(FLAGS.out + ".tmp", FLAGS.out)
  counts = {s: sum(r[2] == s for r in rows) for s in clip_sources.SPLIT_CHOICES}
  print(f"{FLAGS.out}: {counts}")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
