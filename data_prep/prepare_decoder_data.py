r"""Face-decoder data binary: flags -> options -> prepare_decoder_data_lib.run.

  python data_prep/prepare_decoder_data.py --image_dir=/data/faces \
      --output_dir=/data/decoder --vgg_face_weights=rcmalli_vggface_tf_vgg16.h5
"""

from absl import flags

from data_prep import model_flags
from s2f_tf import console
from s2f_tf.faces import landmarks
from s2f_tf.faces import person_segmenter

flags.DEFINE_string("image_dir", None, "Folder of face photos.", required=True)
flags.DEFINE_string("output_dir", None, "Where shards go.", required=True)
flags.DEFINE_boolean("flips", True, "Add the mirrored face of every photo.")
flags.DEFINE_enum("frame", landmarks.DEFAULT_FRAME, list(landmarks.FRAMES),
                  "Where the aligned face sits in the 224 px frame: the "
                  "paper's faces' framing, or s2f's first, tighter one.")
flags.DEFINE_enum("background", person_segmenter.DEFAULT_BACKGROUND,
                  list(person_segmenter.BACKGROUNDS),
                  "Around the person: white like the paper's faces "
                  "(MediaPipe's selfie segmentation), or the photo's own.")
model_flags.define()
FLAGS = flags.FLAGS


def main(argv):
  del argv
  from data_prep import prepare_decoder_data_lib as lib  # pylint: disable=g-import-not-at-top
  options = lib.DecoderDataOptions(output_dir=FLAGS.output_dir,
                                   flips=FLAGS.flips,
                                   min_face_pixels=FLAGS.min_face_pixels,
                                   teacher=FLAGS.teacher, frame=FLAGS.frame,
                                   background=FLAGS.background)
  kwargs = model_flags.loader_kwargs()
  loader = lambda: lib.load_models(**kwargs)
  summary = lib.run(FLAGS.image_dir, options, loader)
  print(f"Decoder data in {FLAGS.output_dir}: {summary['examples']} examples; "
        f"skipped {summary['skipped']}")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
