r"""Makes s2f's person segmenter from MediaPipe's wheel, once: the selfie segmentation network with its custom last op made builtin.

  pip download mediapipe==0.10.14 --no-deps -d /tmp/mediapipe
  python -m experiments.convert_selfie_segmenter \
      --wheel /tmp/mediapipe/mediapipe-0.10.14-*.whl

Reads `mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite`
from the wheel (a zip: MediaPipe itself is never installed or imported),
rewrites its `Convolution2DTransposeBias` op as TensorFlow Lite's builtin
TRANSPOSE_CONV (`person_segmenter.builtin_transpose_conv`) and writes it
to --out with its sha256 (recorded in s2f_tf/models/weights/NOTICE.md).
"""

import hashlib
import os
import zipfile

from absl import flags

from s2f_tf import console
from s2f_tf.faces import person_segmenter

flags.DEFINE_string("wheel", None, "MediaPipe 0.10.14's wheel (a .whl file).",
                    required=True)
flags.DEFINE_string("out", person_segmenter.WEIGHTS, "Where the network goes.")
FLAGS = flags.FLAGS
MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"


def main(argv):
  del argv
  console.require_path("wheel", FLAGS.wheel, "file")
  try:
    with zipfile.ZipFile(FLAGS.wheel) as wheel:
      original = wheel.read(MEMBER)
  except (zipfile.BadZipFile, KeyError) as e:
    raise ValueError(f"--wheel {FLAGS.wheel}: no {MEMBER} ({e})") from e
  converted = person_segmenter.builtin_transpose_conv(original)
  with open(FLAGS.out + ".tmp", "wb") as f:
    f.write(converted)
  os.replace(FLAGS.out + ".tmp", FLAGS.out)
  print(f"{FLAGS.out}: sha256 {hashlib.sha256(converted).hexdigest()} "
        f"(from {MEMBER}, sha256 {hashlib.sha256(original).hexdigest()})")


if __name__ == "__main__":
  console.run(main, __doc__)
