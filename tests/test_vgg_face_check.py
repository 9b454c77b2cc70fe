"""The VGG-Face weight check: its metric logic on fakes, real weights if given."""

import os

import numpy as np
import tensorflow as tf

from experiments.evaluation import vgg_face_check_lib as lib
from s2f_tf.faces import face_detector
from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights
from tests import shared_data


def identities(faces_dir):
  """File -> person, from the same-person pairs (connected components)."""
  parent = {}

  def find(x):
    parent.setdefault(x, x)
    while parent[x] != x:
      x = parent[x]
    return x

  for a, b, same, _ in lib.read_pairs(os.path.join(faces_dir, "master.csv")):
    find(a)
    find(b)
    if same:
      parent[find(a)] = find(b)
  return {name: find(name) for name in parent}


class VggFaceCheckTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    shared_data.require(shared_data.FACES_DIR)
    cls.detector = face_detector.FaceDetector("hog")

  def _fc7_by_crop_colour(self, lookup):
    """A fake extractor that recognises a crop by its pixels."""
    def fc7(crops):
      key = round(float(crops.mean()), 3)
      return lookup[key][None]
    return fc7

  def test_identity_aware_extractor_scores_auc_1(self):
    people = identities(shared_data.FACES_DIR)
    names = sorted(n for n in os.listdir(shared_data.FACES_DIR)
                   if n.endswith(".jpg"))
    people = {name: people.get(name, name) for name in names}
    codes = {p: i for i, p in enumerate(sorted(set(people.values())))}
    means = lib.features(names, shared_data.FACES_DIR, self.detector,
                         lambda crops: np.array([[crops.mean()]]))
    lookup = {}
    for name, mean in means.items():
      one_hot = np.zeros(4096)
      one_hot[codes[people[name]]] = 1.0
      lookup[round(float(mean[0]), 3)] = one_hot
    result = lib.check(self._fc7_by_crop_colour(lookup),
                       shared_data.FACES_DIR, self.detector)
    self.assertGreater(result["verification_pairs"], 200)
    self.assertEqual(result["auc"], 1.0)

  def test_random_extractor_is_near_chance_and_fails(self):
    rng = np.random.RandomState(0)
    result = lib.check(lambda crops: rng.rand(len(crops), 4096),
                       shared_data.FACES_DIR, self.detector)
    self.assertBetween(result["auc"], 0.3, 0.7)
    self.assertFalse(result["passed"])

  def test_released_weights_if_given(self):
    path = os.environ.get("S2F_VGG_FACE_WEIGHTS")
    if not path:
      self.skipTest("set S2F_VGG_FACE_WEIGHTS to a released VGG-Face file "
                    "(rcmalli_vggface_tf_vgg16.h5 or vgg_face.mat) to check "
                    "it against deepface's reference distances")
    model = vgg_face_weights.load_vgg_face_weights(
        vgg_face.build_vgg_face(), path)
    result = lib.check(lambda crops: vgg_face.extract_fc7(model, crops),
                       shared_data.FACES_DIR, face_detector.FaceDetector(
                           "cnn"))
    self.assertTrue(result["passed"], result)


if __name__ == "__main__":
  tf.test.main()
