"""Checks a VGG-Face weight file against outside references before use.

  python experiments/check_vgg_face.py --weights rcmalli_vggface_tf_vgg16.h5

Exits 1 (and says why) unless the loaded network separates the identities of
../shared/data/faces (ROC AUC >= 0.9) and ranks pairs like deepface's
VGG-Face (Spearman >= 0.6).
"""

import functools
import os

from absl import flags

from s2f_tf import console

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("weights", None, "VGG-Face .h5 or .mat.", required=True)
flags.DEFINE_string("faces_dir", os.path.join(
    os.path.dirname(REPO_ROOT), "shared", "data", "faces"),
                    "Folder with master.csv and the photos.")
flags.DEFINE_enum("detector", "cnn", ["cnn", "hog"], "dlib detector.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  # pylint: disable=g-import-not-at-top
  from experiments.evaluation import vgg_face_check_lib as lib
  from s2f_tf.faces import face_detector
  from s2f_tf.models import vgg_face
  from s2f_tf.models import vgg_face_weights
  # pylint: enable=g-import-not-at-top
  model = vgg_face_weights.load_vgg_face_weights(vgg_face.build_vgg_face(),
                                                 FLAGS.weights)
  result = lib.check(functools.partial(vgg_face.extract_fc7, model),
                     FLAGS.faces_dir, face_detector.FaceDetector(
                         FLAGS.detector))
  print(f"verification ROC AUC {result['auc']:.3f} over "
        f"{result['verification_pairs']} pairs (need >= {lib.MIN_AUC}); "
        f"Spearman vs deepface VGG-Face {result['spearman']:.3f} over "
        f"{result['reference_pairs']} pairs (need >= {lib.MIN_SPEARMAN})")
  if not result["passed"]:
    print("FAILED: these weights do not reproduce VGG-Face's behaviour; "
          "check the file and its layout before using it.")
    return 1
  print("passed")
  return 0


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
