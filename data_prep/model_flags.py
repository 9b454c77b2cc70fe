"""The face-model flags both data binaries define, and the loader arguments they give.

The face teacher, dlib detector and its upsampling, the VGG-Face weights (a local file), the
demo's random stand-in, and the smallest face kept.
"""

from absl import flags

from s2f_tf.faces import face_detector
from tfrecords_schema import face_teacher


def define():
  flags.DEFINE_enum("teacher", face_teacher.DEFAULT, list(face_teacher.TEACHERS),
                    "Face teacher: vgg_face_fc7 (the paper's, needs "
                    "--vgg_face_weights) or dlib128 (offline).")
  flags.DEFINE_enum("detector", "cnn", list(face_detector.KINDS),
                    "dlib CNN (the paper's), HOG (fast) or hog_cnn (HOG, "
                    "the CNN where HOG finds no face).")
  flags.DEFINE_integer("upsample", face_detector.DEFAULT_UPSAMPLE,
                       "dlib upsamplings before detection.")
  flags.DEFINE_string("vgg_face_weights", "",
                      "VGG-Face .h5 or .mat (local).")
  flags.DEFINE_boolean("allow_random_vgg_face", False,
                       "Demo only: random VGG-Face when no weights are given.")
  flags.DEFINE_integer("min_face_pixels", face_detector.MIN_FACE_PIXELS,
                       "Smaller faces are skipped.")


def loader_kwargs(values=flags.FLAGS):
  """Keyword arguments of both jobs' `load_models`."""
  return {"detector": values.detector, "upsample": values.upsample,
          "vgg_face_weights_path": values.vgg_face_weights,
          "allow_random_vgg_face": values.allow_random_vgg_face,
          "teacher": values.teacher}
