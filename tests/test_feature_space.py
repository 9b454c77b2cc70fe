"""FeatureReader: gender and age read from teacher features, scored like images."""

import numpy as np
import tensorflow as tf

from s2f_tf.metrics import feature_space
from s2f_tf.metrics import side_by_side


def _faces(n, seed):
  """Features whose first axis carries gender and second carries age."""
  rng = np.random.RandomState(seed)
  gender = np.where(rng.rand(n) < 0.5, "male", "female")
  age = rng.uniform(20, 70, n)
  x = rng.normal(0, 0.02, (n, 128))
  x[:, 0] += np.where(gender == "male", 0.3, -0.3)
  x[:, 1] += (age - 45) / 100.0
  x[:, 2] += 1.0  # a common direction, as real descriptors have
  return x, gender, age


class FeatureReaderTest(tf.test.TestCase):

  def test_reads_what_the_training_faces_taught(self):
    x, gender, age = _faces(400, 0)
    reader = feature_space.FeatureReader(x, gender, age)
    test_x, test_gender, test_age = _faces(200, 1)
    read = reader.read(test_x)
    self.assertEqual(list(read["gender"]), list(test_gender))
    self.assertGreater(np.corrcoef(read["age"], test_age)[0, 1], 0.9)
    self.assertAllEqual(read["embedding"], test_x)

  def test_shrinking_toward_the_mean_keeps_the_gender_reading(self):
    # A prediction at a third of the spread along the gender axis reads the
    # same: the reader compares directions, as the identity instrument.
    x, gender, age = _faces(400, 0)
    reader = feature_space.FeatureReader(x, gender, age)
    test_x, test_gender, _ = _faces(100, 2)
    shrunk = test_x.mean(0) + (test_x - test_x.mean(0)) / 3.0
    self.assertEqual(list(reader.read(shrunk)["gender"]), list(test_gender))

  def test_true_features_score_perfectly_and_shuffled_at_chance(self):
    x, gender, age = _faces(400, 0)
    reader = feature_space.FeatureReader(x, gender, age)
    test_x, test_gender, test_age = _faces(150, 3)
    speakers = [f"s{i}" for i in range(150)]
    true = {"gender": list(test_gender), "age": list(test_age),
            "embedding": test_x}
    own = side_by_side.clip_scores(reader.read(test_x), true, speakers)
    self.assertEqual(np.nanmean(own["gender_agreement"]), 100.0)
    self.assertEqual(np.nanmean(own["r_at_1"]), 100.0)
    shuffled = side_by_side.clip_scores(
        reader.read(test_x[np.roll(np.arange(150), 1)]), true, speakers)
    self.assertLess(np.nanmean(shuffled["r_at_10"]), 25.0)

  def test_one_gender_is_a_clear_error(self):
    x, _, age = _faces(10, 0)
    with self.assertRaisesRegex(ValueError, "both genders"):
      feature_space.FeatureReader(x, ["male"] * 10, age)


if __name__ == "__main__":
  tf.test.main()
