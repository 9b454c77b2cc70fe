"""The decoder's identity term for dlib128: its gradient, and what it buys on real faces."""

import os
import tempfile
import unittest

import keras
import numpy as np
import tensorflow as tf

from data_prep import prepare_decoder_data_lib
from data_prep import pairs_data
from s2f_tf import face_decoder_input
from s2f_tf import face_decoder_trainer
from s2f_tf import train_config
from s2f_tf.faces import face_descriptor
from s2f_tf.losses import face_decoder_loss
from s2f_tf.models import face_decoder
from tests import shared_data
from tfrecords_schema import face_teacher
from tfrecords_schema import shard_summary

GRID_DIR = os.path.join(shared_data.REPO_ROOT, "experiments", "demo_data",
                        "grid_av")
TINY = os.path.join(shared_data.REPO_ROOT, "experiments", "configs",
                    "face_decoder", "tiny.json")


def grid_decoder_data(root):
  """The decoder data of the nine embedded GRID speakers' frames (real
  faces, dlib128 features), made by the real job; its directory."""
  photos = os.path.join(root, "photos")
  os.makedirs(photos)
  pairs_data.decoder_photos([], photos, GRID_DIR)
  data = os.path.join(root, "data")
  prepare_decoder_data_lib.run(
      photos, prepare_decoder_data_lib.DecoderDataOptions(
          output_dir=data, flips=False, teacher=face_teacher.DLIB128,
          # As measured (below): the test is about the term, not the look.
          frame="tight", background="photo"),
      lambda: prepare_decoder_data_lib.load_models(
          "hog", teacher=face_teacher.DLIB128))
  return data


def read_all(data):
  summary = shard_summary.read_decoder_data(data)
  return summary, next(iter(face_decoder_input.make_dataset(
      summary["pattern"], summary["mean_landmarks"], summary["examples"],
      False, teacher=face_teacher.DLIB128)))


class IdentityTermTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.data = grid_decoder_data(cls.root)
    cls.summary, cls.batch = read_all(cls.data)

  def test_fixture_holds_the_nine_speakers(self):
    self.assertEqual(self.summary["examples"], 9)
    self.assertEqual(self.batch["fc7"].shape, (9, 128))

  def test_gradient_reaches_the_decoder(self):
    mean = np.asarray(self.summary["mean_landmarks"], np.float32)
    decoder = face_decoder.build_face_decoder(
        mean, face_decoder.SPECS["tiny"], feature_dim=128)
    identity = face_decoder_trainer.dlib_identity_fn(mean)
    batch = {k: self.batch[k][:2] for k in ("fc7", "landmarks", "texture")}
    with tf.GradientTape() as tape:
      terms = face_decoder_loss.per_example(
          decoder(batch["fc7"]), batch, identity, weights=(0.0, 0.0, 1.0))
      loss = tf.reduce_mean(terms["total"])
    variables = {v.path: v for v in decoder.trainable_variables}
    gradients = dict(zip(variables, tape.gradient(loss, list(
        variables.values()))))
    self.assertGreater(float(terms["identity"][0]), 0.0)
    # The identity term alone moves the texture branch and Eq. 1's f_dec.
    for name in ("fc1000/kernel", "texture/kernel", "deconv1/kernel"):
      gradient = gradients[next(p for p in gradients if p.endswith(name))]
      self.assertIsNotNone(gradient, name)
      self.assertGreater(float(tf.reduce_sum(tf.abs(gradient))), 0.0, name)
    # dlib's network stays frozen: none of its weights is the decoder's.
    self.assertFalse(any("dlib" in path for path in gradients))


  def _train(self, name, steps, **overrides):
    """A tiny decoder run on the nine faces; its exported decoder."""
    workdir = os.path.join(self.root, name)
    config = train_config.DecoderTrainConfig.load(TINY).replace(
        data_dir=self.data, train_steps=steps, batch_size=9,
        learning_rate=1e-3, identity_jitter=0.1, log_every=100,
        deterministic=True, **overrides)
    face_decoder_trainer.train(config, workdir)
    return face_decoder_trainer.exported(workdir)

  def _face_to_face(self, decoder_path):
    """The identity instrument's (HOG + 5-point + dlib's C++ network)
    reading of the faces a decoder draws from the nine true features:
    (R@1 among the nine, mean cosine to the truth)."""
    decoder = keras.models.load_model(decoder_path)
    features = self.batch["fc7"].numpy()
    faces = np.clip(np.asarray(decoder(features)) * 255 + 0.5, 0,
                    255).astype(np.uint8)
    read = face_descriptor.DlibFaceEmbedder().embed(faces)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    cosine = unit(read) @ unit(features).T
    return (float(np.mean(cosine.argmax(1) == np.arange(len(features)))),
            float(np.mean(np.diag(cosine))))

  def test_identity_term_beats_none_on_face_to_face(self):
    """As the recipe does: a decoder trained without the term (150 steps),
    then 50 more steps with the term and 50 without, judged by the
    instrument, not by the network the term trains against. From scratch
    (100 steps) the term's effect depends on the seed (R@1 1/9 to 7/9 over
    seeds 0-2); from the shared start it does not. Measured (2-core EPYC,
    config seeds 0 / 1 / 2): R@1 8/9, 9/9, 9/9 against 6/9, 7/9, 6/9;
    mean cosine 0.964, 0.977, 0.980 against 0.916, 0.918, 0.924."""
    start = self._train("start", 150)
    recall_none, cosine_none = self._face_to_face(self._train(
        "more_none", 50, init_decoder=start))
    recall_identity, cosine_identity = self._face_to_face(self._train(
        "more_identity", 50, init_decoder=start, identity_weight=0.3))
    self.assertGreater(recall_identity, recall_none)
    self.assertGreater(cosine_identity, cosine_none + 0.02)


if __name__ == "__main__":
  unittest.main()
