r"""Shard generation binary: flags -> clip specs + ShardOptions -> prepare_shards_lib.run.

  python data_prep/prepare_shards.py --video_dir=/data/videos \
      --output_dir=/data/shards --vgg_face_weights=rcmalli_vggface_tf_vgg16.h5

Sources (any combination): --avspeech_csv with --media_dir, --voxceleb_root
(with --voxceleb_faces_root), --video_dir, --pairs_dir (the paper's project
page pairs, split by the committed --split_file). --teacher=dlib128 makes
dlib's 128-D face feature instead of VGG-Face fc7. Runs on Beam's DirectRunner by
default; pass e.g. --runner=DataflowRunner and that runner's options after
`--` for a cluster. Rerun with the same flags to resume.
"""

from absl import app
from absl import flags
from absl import logging

from data_prep import clip_sources
from data_prep import model_flags
from data_prep import shard_options
from s2f_tf import console
from s2f_tf.faces import face_detector

flags.DEFINE_string("output_dir", None, "Where shards go.", required=True)
flags.DEFINE_string("avspeech_csv", "", "AVSpeech CSV (youtube_id,start,end,x,y);"
                    " with --avspeech_test_csv it is the train split.")
flags.DEFINE_string("avspeech_test_csv", "", "AVSpeech's published test CSV: "
                    "its clips form the test split (no re-splitting).")
flags.DEFINE_string("media_dir", "", "Downloaded AVSpeech videos <id>.<ext>.")
flags.DEFINE_string("voxceleb_root", "", "<speaker>/<video>/<utterance> media.")
flags.DEFINE_string("voxceleb_faces_root", "", "<speaker>/<video>/*.jpg faces.")
flags.DEFINE_string("video_dir", "", "Folder of talking-face videos.")
flags.DEFINE_string("pairs_dir", "", "Voice/face pairs in the Speech2Face "
                    "project page's layout (Wav/, Face_ori/; its root or one "
                    "figures/ folder).")
flags.DEFINE_string("split_file", clip_sources.PAIRS_SPLIT_FILE,
                    "clip,speaker,split of --pairs_dir ('' = speaker hash).")
model_flags.define()
flags.DEFINE_float("test_fraction", shard_options.TEST_FRACTION,
                   "Fraction of speakers in the test split.")
flags.DEFINE_integer("examples_per_shard", shard_options.EXAMPLES_PER_SHARD,
                     "Target examples per shard.")
flags.DEFINE_float("min_seconds", shard_options.MIN_CLIP_SECONDS,
                   "Shorter clips are skipped.")
flags.DEFINE_float("max_audio_seconds", shard_options.MAX_AUDIO_SECONDS,
                   "Audio stored per clip, from its start.")
flags.DEFINE_float("crop_margin", face_detector.CROP_MARGIN,
                   "Face box enlargement before the square crop.")
flags.DEFINE_string("split_salt", "s2f", "Salt of the speaker split hash.")
flags.DEFINE_string("runner", "DirectRunner", "Beam runner.")
FLAGS = flags.FLAGS


def specs_from_flags():
  for name, kind in (("avspeech_csv", "file"), ("avspeech_test_csv", "file"),
                     ("media_dir", "dir"),
                     ("voxceleb_root", "dir"), ("voxceleb_faces_root", "dir"),
                     ("video_dir", "dir"), ("pairs_dir", "dir"),
                     ("split_file", "file")):
    if FLAGS[name].value and (name != "split_file" or FLAGS.pairs_dir):
      console.require_path(name, FLAGS[name].value, kind)
  if FLAGS.vgg_face_weights:
    console.require_path("vgg_face_weights", FLAGS.vgg_face_weights)
  specs = []
  if FLAGS.avspeech_test_csv:
    if not FLAGS.avspeech_csv:
      raise app.UsageError("--avspeech_test_csv needs --avspeech_csv (the "
                           "train CSV)")
    specs += clip_sources.avspeech(FLAGS.avspeech_csv, FLAGS.media_dir,
                                   split="train")
    specs += clip_sources.avspeech(FLAGS.avspeech_test_csv, FLAGS.media_dir,
                                   split="test")
  elif FLAGS.avspeech_csv:
    specs += clip_sources.avspeech(FLAGS.avspeech_csv, FLAGS.media_dir)
  if FLAGS.voxceleb_root:
    specs += clip_sources.voxceleb(FLAGS.voxceleb_root,
                                   FLAGS.voxceleb_faces_root or None)
  if FLAGS.video_dir:
    specs += clip_sources.video_folder(FLAGS.video_dir)
  if FLAGS.pairs_dir:
    specs += clip_sources.speech2face_pairs(FLAGS.pairs_dir,
                                            FLAGS.split_file or None)
  if not specs:
    raise app.UsageError("no clips: give --avspeech_csv/--media_dir, "
                         "--voxceleb_root, --video_dir or --pairs_dir")
  return specs


def main(argv):
  options = shard_options.ShardOptions(
      output_dir=FLAGS.output_dir, test_fraction=FLAGS.test_fraction,
      examples_per_shard=FLAGS.examples_per_shard,
      min_seconds=FLAGS.min_seconds,
      max_audio_seconds=FLAGS.max_audio_seconds,
      crop_margin=FLAGS.crop_margin, min_face_pixels=FLAGS.min_face_pixels,
      split_salt=FLAGS.split_salt, teacher=FLAGS.teacher)
  # pylint: disable=g-import-not-at-top
  from apache_beam.options import pipeline_options
  from data_prep import prepare_shards_lib as lib
  # pylint: enable=g-import-not-at-top
  loader = lib.model_loader(crop_margin=FLAGS.crop_margin,
                            **model_flags.loader_kwargs())
  beam_options = pipeline_options.PipelineOptions(
      argv[1:], runner=FLAGS.runner, save_main_session=False)
  summary = lib.run(specs_from_flags(), options, loader, beam_options)
  logging.info("summary: %s", summary)
  print(f"Shards in {FLAGS.output_dir}: " + ", ".join(
      f"{split} {s['examples']} examples / {s['speakers']} speakers"
      for split, s in summary["splits"].items()) +
        f"; skipped {summary['skipped']}")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
