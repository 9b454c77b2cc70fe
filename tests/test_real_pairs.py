"""A short real-data run of the real-pairs main job: every row and column of the side-by-side table."""

import json
import os
from unittest import mock

import tensorflow as tf

from experiments.app import demo_lib
from experiments.evaluation import pairs_table
from data_prep import pairs_data
from experiments.evaluation import real_pairs
from s2f_tf import speech_to_face
from tests import shared_data


class RealPairsRunTest(tf.test.TestCase):

  def test_short_run_writes_the_table(self):
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    out = self.create_tempdir().full_path
    # The shipped model as the compared model (its own decoder, ge2e).
    run = real_pairs.run
    with mock.patch.object(real_pairs, "run", lambda *args, **kwargs: run(
        *args, **{**kwargs, "compare": speech_to_face.SHIPPED_MODEL_DIR})):
      written = demo_lib.run_real_pairs(
          out, demo_lib.resolve(shared_data.SHARED_DATA, pairs),
          sizes=demo_lib.PairsRun(
              train_clips=24, test_clips=14, decoder_steps=20,
              encoder_steps=4, bootstrap=50, shard_workers=1))
    result = written["real_pairs"]
    self.assertEqual(set(result["rows"]), {
        "s2f", "paper", "constant", "shuffled", "control", "f2f",
        "f2f_jpeg", "f2f_small", "paper_f2f", "s2f_feature",
        "control_feature", "true_feature", "compare", "compare_feature",
        "s2f_avspeech", "paper_avspeech"})
    # The first 14 held-out clips are all AVSpeech's (the split file lists
    # avspeech_res first): the AVSpeech-only rows are then the whole rows,
    # galleries and all.
    self.assertEqual((result["avspeech_clips"], result["avspeech_speakers"]),
                     (14, result["speakers"]))
    for name in ("s2f", "paper"):
      for metric in ("gender_agreement", "r_at_1", "matching"):
        self.assertAllClose(result["rows"][f"{name}_avspeech"][metric],
                            result["rows"][name][metric])
    self.assertEqual(result["compare_encoder"], "ge2e")
    self.assertEqual(result["clips"], 14)
    self.assertEqual(result["teacher"], "dlib128")
    for name, row in result["rows"].items():
      for metric, _ in pairs_table.COLUMNS:
        self.assertIn(metric, row, (name, metric))
      entry = row["gender_agreement"]
      self.assertBetween(entry["value"], 0.0, 100.0)
      self.assertLessEqual(entry["low"], entry["value"] + 1e-9)
      self.assertGreaterEqual(entry["high"], entry["value"] - 1e-9)
    # The paper's face -> face faces are nearly their speakers' own (the
    # paper reports R@1 ~95 % in galleries of 100): in a gallery of 14 they
    # must beat chance by far.
    self.assertGreater(result["rows"]["paper_f2f"]["r_at_1"]["value"], 50.0)
    # In the teacher's space the true faces' own features find themselves.
    self.assertEqual(result["rows"]["true_feature"]["r_at_1"]["value"], 100.0)
    self.assertIn("s2f-s2f_feature", result["paired"])
    # s2f against the constant face on the same clips: the difference of
    # the two rows' values, with its own interval around it.
    for baseline in ("constant", "shuffled", "control", "compare"):
      diff = result["paired"][f"s2f-{baseline}"]["gender_agreement"]
      self.assertAllClose(
          diff["value"], result["rows"]["s2f"]["gender_agreement"]["value"] -
          result["rows"][baseline]["gender_agreement"]["value"])
      self.assertLessEqual(diff["low"], diff["value"] + 1e-9)
      self.assertGreaterEqual(diff["high"], diff["value"] - 1e-9)
    header, rows = pairs_table.table_rows(result)
    self.assertLen(header, len(pairs_table.COLUMNS) + 1)
    self.assertEqual(rows[-1][0], "chance")
    self.assertIn("[ge2e encoder]", rows[1][0])
    self.assertIn("s2f minus the compared model",
                  pairs_table.markdown_table(result))
    with open(os.path.join(out, "eval", real_pairs.RESULT_FILE)) as f:
      self.assertEqual(json.load(f)["clips"], 14)
    with open(written["report"]) as f:
      page = f.read()
    self.assertIn("s2f beside the paper", page)
    self.assertIn("dlib128", page)
    self.assertIn("s2f minus a constant face, gender agreement", page)
    self.assertIn("Face &rarr; face, the same speakers", page)
    self.assertIn("before the decoder", page)
    self.assertTrue(os.path.isfile(written["face"]))


class ReadersTest(tf.test.TestCase):

  def test_two_processes_read_what_one_does(self):
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    _, test = pairs_data.split_specs(pairs)
    faces = [real_pairs.read_rgb(s.face_image_path) for s in test[:5]]
    sets = {"a": faces[:3], "b": faces[3:] + faces[:1]}
    models = os.path.join(shared_data.REPO_ROOT, "experiments", "demo_data",
                          "models", "dlib_age_gender")
    with real_pairs.Readers(models) as readers:
      one = readers.read(sets)
    with mock.patch.object(real_pairs, "READ_BATCH", 2), \
        real_pairs.Readers(models, workers=2) as readers:
      two = readers.read(sets)  # batches of 2 spread over 2 processes
    for name, images in sets.items():
      self.assertLen(one[name]["gender"], len(images))
      self.assertEqual(one[name]["gender"], two[name]["gender"])
      self.assertAllClose(one[name]["age"], two[name]["age"])
      self.assertAllClose(one[name]["embedding"], two[name]["embedding"])
    # "b" ends with "a"'s first face: the same reading, wherever it ran.
    self.assertAllClose(two["b"]["embedding"][-1], two["a"]["embedding"][0])


if __name__ == "__main__":
  tf.test.main()
