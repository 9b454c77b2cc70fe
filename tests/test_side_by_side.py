"""Side-by-side face metrics: known answers and hand-computed small cases."""

import json
from unittest import mock

import numpy as np
import tensorflow as tf

from s2f_tf.metrics import identity
from s2f_tf.metrics import side_by_side


def _readings(embedding, gender, age):
  return {"embedding": np.asarray(embedding, np.float64),
          "gender": list(gender), "age": np.asarray(age, np.float64)}


class GalleryTest(tf.test.TestCase):

  def test_hand_ranked_small_gallery(self):
    # Query 0: own similarity 0.5, others 0.9 and 0.1 -> rank 2 of 3.
    # Query 1: own 0.8, others 0.2, 0.3 -> rank 1.
    # Query 2: own 0.4, others tied at 0.4 and 0.4 -> uniform over ranks 1-3.
    sim = np.array([[0.5, 0.9, 0.1], [0.2, 0.8, 0.3], [0.4, 0.4, 0.4]])
    hits = side_by_side.gallery_hits(sim, ks=(1, 2), gallery_size=3,
                                     num_galleries=1)
    self.assertAllClose(hits[1], [0.0, 1.0, 1 / 3])
    self.assertAllClose(hits[2], [1.0, 1.0, 2 / 3])

  def test_matching_hand_case(self):
    sim = np.array([[0.5, 0.9, 0.1], [0.2, 0.8, 0.3], [0.4, 0.4, 0.4]])
    self.assertAllClose(identity.matching_scores(sim), [0.5, 1.0, 0.5])
    # Same-group only: query 0's only same-group other is 2 (0.1 < 0.5).
    self.assertAllClose(identity.matching_scores(sim, groups=["a", "b", "a"]),
                        [1.0, np.nan, 0.5])
    # Columns 0 and 1 are one speaker's: neither is the other's impostor.
    self.assertAllClose(
        identity.matching_scores(sim, speaker_ids=["x", "x", "y"]),
        [1.0, 1.0, 0.5])
    # Queries of a block: query 0's own face is column 2.
    self.assertAllClose(identity.matching_scores(sim[:1], own=[2]), [0.0])

  def test_report_and_table_read_one_1to2(self):
    # identity.matching_1to2 (the report) over one clip per speaker is the
    # mean of the table's per-clip matching scores.
    rng = np.random.RandomState(3)
    true, image = rng.randn(20, 8), rng.randn(20, 8)
    speakers = [f"s{i}" for i in range(20)]
    readings = _readings(image, ["male"] * 20, np.zeros(20))
    scores = side_by_side.clip_scores(
        readings, _readings(true, ["male"] * 20, np.zeros(20)), speakers,
        num_galleries=1, gallery_size=10)
    self.assertAllClose(
        identity.matching_1to2(image, true, speakers)["accuracy"],
        np.mean(scores["matching"]))
    with mock.patch.object(identity, "MATCHING_BLOCK", 7):  # 3 blocks
      self.assertAllClose(
          identity.matching_1to2(image, true, speakers)["accuracy"],
          np.mean(scores["matching"]))
    # By hand for clip 0: cosines to the other 19 true faces below its own,
    # and, within a gender, to the other "female" clips only (2, 4, ...).
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
    cos = unit(image[0]) @ unit(true).T
    self.assertAllClose(scores["matching"][0],
                        100.0 * np.mean(cos[1:] < cos[0]))
    genders = ["male" if i % 2 else "female" for i in range(20)]
    by_gender = side_by_side.clip_scores(
        _readings(image, genders, np.zeros(20)),
        _readings(true, genders, np.zeros(20)), speakers, num_galleries=1,
        gallery_size=10)
    self.assertAllClose(by_gender["matching_same_gender"][0],
                        100.0 * np.mean(cos[2::2] < cos[0]))


class ClipScoresTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.RandomState(0)
    self.n = 150
    self.speakers = [f"s{i // 2}" for i in range(self.n)]  # 2 clips each
    self.true = _readings(rng.randn(self.n, 128),
                          rng.choice(["male", "female"], self.n),
                          rng.uniform(20, 60, self.n))

  def test_oracle_is_perfect(self):
    scores = side_by_side.clip_scores(self.true, self.true, self.speakers,
                                      num_galleries=3)
    summary = side_by_side.summarize(scores, self.speakers, samples=200)
    self.assertEqual(summary["gender_agreement"]["value"], 100.0)
    self.assertAllClose(summary["age_r"]["value"], 1.0)
    self.assertEqual(summary["age_mae"]["value"], 0.0)
    self.assertAllClose(summary["cosine"]["value"], 1.0)
    self.assertEqual(summary["r_at_1"]["value"], 100.0)
    self.assertEqual(summary["matching"]["value"], 100.0)
    self.assertEqual(summary["r_at_1"]["n"], 75)  # one clip per speaker

  def test_constant_embedding_scores_exactly_chance(self):
    # All faces alike: every rank is a tie, so R@K and 1:2 are exactly
    # chance in expectation (here galleries hold all 75 speakers).
    same = _readings(np.ones((self.n, 128)), self.true["gender"],
                     self.true["age"])
    constant = _readings(np.ones((self.n, 128)), self.true["gender"],
                         np.full(self.n, 30.0))
    scores = side_by_side.clip_scores(constant, same, self.speakers,
                                      num_galleries=2)
    summary = side_by_side.summarize(scores, self.speakers, samples=50)
    self.assertAllClose(summary["r_at_1"]["value"], 100 / 75)  # gallery 75
    self.assertAllClose(summary["r_at_10"]["value"], 1000 / 75)
    self.assertAllClose(summary["matching"]["value"], 50.0)
    # A constant age reading has no correlation: None, which JSON can hold.
    self.assertIsNone(summary["age_r"]["value"])
    json.dumps(summary, allow_nan=False)

  def test_paired_difference_sees_what_overlapping_intervals_hide(self):
    # Row b is row a with 8 of its wrong clips made right: +5.3 points on
    # every resampling that draws one of them. Each row's own interval is
    # ~20 points wide, so the two overlap; the paired one excludes 0.
    rng = np.random.RandomState(2)
    a = np.where(rng.rand(self.n) < 0.6, 100.0, 0.0)
    b = a.copy()
    fixed = np.flatnonzero(a == 0)[:8]
    b[fixed] = 100.0
    diff = side_by_side.paired_difference(
        {"gender_agreement": b}, {"gender_agreement": a}, self.speakers,
        "gender_agreement", samples=300)
    self.assertAllClose(diff["value"], 100.0 * 8 / self.n)
    self.assertGreater(diff["low"], 0.0)
    self.assertLess(diff["high"], 15.0)
    self.assertEqual(diff["n"], self.n)
    alone = {name: side_by_side.summarize(
        {"gender_agreement": row}, self.speakers, samples=300)[
            "gender_agreement"] for name, row in (("a", a), ("b", b))}
    self.assertLess(alone["b"]["low"], alone["a"]["high"])  # overlap
    # Undefined clips (NaN, e.g. R@K off the one-clip-per-speaker queries)
    # are left out of both means.
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[::2] = np.nan
    diff = side_by_side.paired_difference(
        {"m": b_nan}, {"m": a_nan}, self.speakers, "m", samples=50)
    odd = np.arange(1, self.n, 2)
    self.assertAllClose(diff["value"], np.mean(b[odd] - a[odd]))
    self.assertEqual(diff["n"], len(odd))

  def test_labelled_gender_and_interval(self):
    rng = np.random.RandomState(1)
    flip = rng.rand(self.n) < 0.3
    row = _readings(self.true["embedding"] + rng.randn(self.n, 128),
                    [("female" if g == "male" else "male") if f else g
                     for g, f in zip(self.true["gender"], flip)],
                    self.true["age"] + 5.0)
    labels = [g if i % 3 == 0 else None
              for i, g in enumerate(self.true["gender"])]
    scores = side_by_side.clip_scores(row, self.true, self.speakers, labels,
                                      num_galleries=2)
    summary = side_by_side.summarize(scores, self.speakers, samples=300)
    expected = 100.0 * np.mean(~flip)
    entry = summary["gender_agreement"]
    self.assertAllClose(entry["value"], expected)
    self.assertLess(entry["low"], expected)
    self.assertGreater(entry["high"], expected)
    # Binomial standard error over ~75 independent speakers' pairs.
    self.assertBetween(entry["high"] - entry["low"], 5.0, 30.0)
    self.assertEqual(summary["labelled_gender_agreement"]["n"], 50)
    self.assertAllClose(
        summary["labelled_gender_agreement"]["value"],
        100.0 * np.mean([not flip[i] for i in range(0, self.n, 3)]))
    self.assertAllClose(summary["age_mae"]["value"], 5.0)
    self.assertAllClose(summary["age_r"]["value"], 1.0)


if __name__ == "__main__":
  tf.test.main()
