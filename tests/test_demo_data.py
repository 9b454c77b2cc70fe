"""The demo's inputs, resolved once: real data where it is, else the embedded samples."""

import os

import tensorflow as tf

from experiments.app import demo_lib


class ResolveTest(tf.test.TestCase):

  def test_empty_data_dir_falls_back_to_the_embedded_samples(self):
    data = demo_lib.resolve(self.create_tempdir().full_path)
    self.assertEqual(data.grid, demo_lib.EMBEDDED_DATA)
    self.assertTrue(os.path.isdir(os.path.join(data.grid, "grid_av")))
    self.assertEqual(data.attribute_models, os.path.join(
        demo_lib.EMBEDDED_DATA, "models", "dlib_age_gender"))
    self.assertEqual((data.pairs, data.fsdd, data.face_photos),
                     ("", False, ()))

  def test_real_data_is_found_in_the_data_dir(self):
    root = self.create_tempdir().full_path
    for folder in ("grid_av", "speech_fsdd", "speech2face_examples",
                   "faces", os.path.join("models", "dlib_age_gender")):
      os.makedirs(os.path.join(root, folder))
    for name in ("img2.jpg", "img1.jpg", "other.png"):
      open(os.path.join(root, "faces", name), "w").close()
    data = demo_lib.resolve(root, extra_faces="/x", vgg_face_weights="/w.h5")
    self.assertEqual(data.grid, root)
    self.assertEqual(data.pairs, os.path.join(root, "speech2face_examples"))
    self.assertTrue(data.fsdd)
    self.assertEqual(data.face_photos, tuple(
        os.path.join(root, "faces", n) for n in ("img1.jpg", "img2.jpg")))
    self.assertEqual(data.attribute_models,
                     os.path.join(root, "models", "dlib_age_gender"))
    self.assertEqual((data.extra_faces, data.vgg_face_weights),
                     ("/x", "/w.h5"))
    # --pairs_dir wins over the data dir's copy.
    self.assertEqual(demo_lib.resolve(root, pairs_dir="/p").pairs, "/p")


if __name__ == "__main__":
  tf.test.main()
