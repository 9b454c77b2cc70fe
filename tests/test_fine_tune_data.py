"""The face-decoder fine-tuning folder: training frames with their predicted features, other faces, no held frame."""

import os

import numpy as np
import tensorflow as tf

from data_prep import fine_tune_data
from s2f_tf import face_decoder_input
from tests import fake_shards
from tfrecords_schema import face_decoder_example
from tfrecords_schema import shard_summary

TEACHER = "dlib128"
IDS = ["pairs/a/fit0.jpg", "pairs/a/fit1.jpg", "pairs/b/held.jpg",
       "extra/u0.jpg", "extra/u1.jpg", "extra/u2.jpg", "grid/g0.jpg",
       "extra/u3.jpg"]


def read(pattern):
  out = []
  for path in sorted(tf.io.gfile.glob(pattern)):
    for record in tf.data.TFRecordDataset(path):
      out.append(face_decoder_example.decode(record, TEACHER))
  return out


class FineTuneDataTest(tf.test.TestCase):

  def test_frames_predictions_and_other_faces(self):
    root = self.create_tempdir().full_path
    source = fake_shards.write_decoder_data(
        os.path.join(root, "source"), teacher=TEACHER, image_ids=IDS)
    originals = {e["image_id"].numpy().decode(): e
                 for e in read(os.path.join(source, "faces-*"))}
    rng = np.random.RandomState(3)
    predicted = {"pairs/a/fit0.jpg": rng.rand(2, 128),
                 "pairs/a/fit1.jpg": rng.rand(2, 128)}
    mean = rng.rand(128)
    out = os.path.join(root, "fine_tune")
    summary = fine_tune_data.write(source, predicted, out, other_faces=3,
                                   held_prefix="pairs/", scale=2.0,
                                   mean=mean)
    examples = read(summary["pattern"])
    # 2 frames + 2 x 2 predictions + 3 of the 5 other faces; never the
    # held frame (it has no prediction).
    self.assertLen(examples, 9)
    self.assertEqual(summary["examples"], 9)
    self.assertEqual(summary["fine_tune"]["predicted"], 4)
    ids = [e["image_id"].numpy().decode() for e in examples]
    self.assertNotIn("pairs/b/held.jpg", ids)
    others = [i for i in ids if not i.startswith("pairs/")]
    self.assertLen(others, 3)
    self.assertLen(set(others), 3)
    for example in examples:
      image_id = example["image_id"].numpy().decode()
      original = originals[image_id]
      augmentation = example["augmentation"].numpy().decode()
      if augmentation:
        k = int(augmentation[len("predicted"):])
        # Spread about the mean: mean + 2 (p - mean), by hand.
        expected = mean + 2.0 * (predicted[image_id][k] - mean)
        self.assertAllClose(example["fc7"], expected, atol=1e-6)
      else:
        self.assertAllClose(example["fc7"], original["fc7"])
      self.assertAllEqual(example["aligned_image"], original["aligned_image"])
      self.assertAllClose(example["landmarks"], original["landmarks"])
    self.assertEqual(sorted(
        e["augmentation"].numpy().decode() for e in examples
        if e["augmentation"].numpy()), ["predicted0", "predicted0",
                                        "predicted1", "predicted1"])
    # The decoder's mean shape comes along, and its input pipeline reads it.
    self.assertEqual(summary["mean_landmarks"],
                     shard_summary.read(source)["mean_landmarks"])
    batch = next(iter(face_decoder_input.make_dataset(
        summary["pattern"], np.asarray(summary["mean_landmarks"]), 3, False,
        teacher=TEACHER)))
    self.assertEqual(batch["fc7"].shape, (3, 128))
    # A complete folder is kept: a rerun with other arguments returns the
    # folder's own summary (its counts, not the new arguments') and leaves
    # the records as they were.
    records = read(summary["pattern"])
    again = fine_tune_data.write(source, {}, out, other_faces=0,
                                 held_prefix="x")
    self.assertEqual(again, summary)
    self.assertEqual(again["fine_tune"]["predicted"], 4)
    self.assertLen(read(again["pattern"]), len(records))

  def test_a_prediction_without_its_frame_is_a_counted_skip(self):
    """A frame the decoder-data job found no face in has no example: its
    predictions are skipped and counted, the rest written."""
    root = self.create_tempdir().full_path
    source = fake_shards.write_decoder_data(
        os.path.join(root, "source"), teacher=TEACHER, image_ids=IDS)
    summary = fine_tune_data.write(
        source, {"pairs/a/gone.jpg": np.zeros((1, 128)),
                 "pairs/a/fit0.jpg": np.ones((1, 128))},
        os.path.join(root, "out"), 1, "pairs/")
    self.assertEqual(summary["skipped"], {"frame_not_in_decoder_data": 1})
    self.assertEqual(summary["fine_tune"]["predicted"], 1)
    self.assertLen(read(summary["pattern"]), 3)


if __name__ == "__main__":
  tf.test.main()
