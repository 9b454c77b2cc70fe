"""The shard job on real MP4s (espeak-ng speech + a real face) and broken media."""

import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from data_prep import clip_sources
from data_prep import prepare_shards_lib as lib
from data_prep import shard_options
from data_prep import shard_files
from s2f_tf import input_pipeline
from s2f_tf.faces import face_detector
from tests import media_factory
from tfrecords_schema import speech_face


def fake_fc7(crops):
  """A deterministic stand-in for VGG-Face: tiled crop colour statistics."""
  stats = np.concatenate([crops.mean(axis=(1, 2)), crops.std(axis=(1, 2))], -1)
  return np.tile(stats, (1, 4096 // 6 + 1))[:, :4096].astype(np.float32)


def fake_loader():
  """Real dlib CNN detector (the paper's), fake fc7 (no VGG-Face weights)."""
  return lib.ShardModels(face_detector.FaceDetector("cnn"), fake_fc7)


GOOD_SPEAKERS = ("alice", "bob", "carol", "dave")
BAD = {"corrupt": "unreadable_media", "empty": "unreadable_media",
       "noaudio": "no_audio", "silence": "silence", "noface": "no_face",
       "several": "several_faces", "tiny": "tiny_face", "short": "too_short"}


def build_media(root):
  tmp = os.path.join(root, "tmp")
  os.makedirs(tmp)
  videos = os.path.join(root, "videos")
  voices = ("en", "en+f3", "de", "en+m3")
  speech = [media_factory.speech_wav(os.path.join(tmp, f"{v}.wav"), v)
            for v in voices]
  face = media_factory.astronaut(720)  # face box ~134 px
  for i, speaker in enumerate(GOOD_SPEAKERS):
    for clip in range(2):
      media_factory.face_video(
          os.path.join(videos, speaker, f"clip{clip}.mp4"),
          face if clip == 0 else face[:, ::-1], speech[i])
  bad = os.path.join(videos, "bad_{}", "clip.mp4")
  for name in ("corrupt", "empty"):
    os.makedirs(os.path.dirname(bad.format(name)))
  with open(bad.format("corrupt"), "wb") as f:
    f.write(np.random.RandomState(0).bytes(20000))
  open(bad.format("empty"), "wb").close()
  media_factory.face_video(bad.format("noaudio"), face, seconds=4)
  media_factory.face_video(bad.format("silence"), face, seconds=4,
                           silent_audio=True)
  media_factory.face_video(bad.format("noface"),
                           media_factory.no_face_image(), speech[0])
  media_factory.face_video(bad.format("several"), media_factory.two_faces(),
                           speech[1])
  media_factory.face_video(bad.format("tiny"), media_factory.astronaut(512),
                           speech[2])  # face box ~95 px < 110
  short = media_factory.speech_wav(os.path.join(tmp, "short.wav"), "en",
                                   "Hello there.")
  media_factory.face_video(bad.format("short"), face, short)
  return videos


class PrepareShardsTest(tf.test.TestCase):

  def test_direct_runner_counts_split_roundtrip_and_resume(self):
    root = self.create_tempdir().full_path
    specs = clip_sources.video_folder(build_media(root))
    self.assertLen(specs, 2 * len(GOOD_SPEAKERS) + len(BAD))
    # A salt that puts good speakers in both splits (the rule is a hash).
    salt = next(s for s in map(str, range(100)) if len(
        {lib.split_of(sp, 0.5, s) for sp in GOOD_SPEAKERS}) == 2)
    options = shard_options.ShardOptions(
        output_dir=os.path.join(root, "shards"), test_fraction=0.5,
        examples_per_shard=3, min_face_pixels=110, split_salt=salt)
    summary = lib.run(specs, options, fake_loader)

    expected_skips = {}
    for reason in BAD.values():
      expected_skips[reason] = expected_skips.get(reason, 0) + 1
    self.assertEqual(summary["skipped"], expected_skips)
    # No spec names a validation split, so the hash makes train and test.
    self.assertEqual(sorted(summary["splits"]), ["test", "train"])
    examples = {split: [] for split in summary["splits"]}
    for split in summary["splits"]:
      files = tf.io.gfile.glob(summary["splits"][split]["pattern"])
      self.assertLen(files, summary["splits"][split]["shards"])
      for record in tf.data.TFRecordDataset(sorted(files)):
        examples[split].append(speech_face.decode(record))
      self.assertLen(examples[split], summary["splits"][split]["examples"])
    self.assertEqual(sum(len(v) for v in examples.values()),
                     2 * len(GOOD_SPEAKERS))
    speakers = {split: {e["speaker_id"].numpy().decode() for e in exs}
                for split, exs in examples.items()}
    self.assertEmpty(speakers["train"] & speakers["test"])
    self.assertEqual(speakers["train"] | speakers["test"], set(GOOD_SPEAKERS))

    values = {}
    for path in tf.io.gfile.glob(os.path.join(options.output_dir,
                                              "tensorboard", "events.*")):
      for event in tf.compat.v1.train.summary_iterator(path):
        for v in event.summary.value:
          values[v.tag] = float(tf.make_ndarray(v.tensor))
    self.assertEqual(values["shards/skipped_several_faces"], 1.0)
    self.assertEqual(values["shards/train_examples"] +
                     values["shards/test_examples"], 2 * len(GOOD_SPEAKERS))

    example = examples["train"][0]
    self.assertEqual(int(example["schema_version"]), speech_face.SCHEMA_VERSION)
    self.assertEqual(int(example["sample_rate"]), 16000)
    seconds = example["waveform"].shape[0] / 16000.0
    self.assertBetween(seconds, 3.0, 6.0)
    self.assertGreater(float(tf.math.reduce_std(example["waveform"])), 0.01)
    crop = tf.io.decode_jpeg(example["face_jpeg"]).numpy()
    self.assertEqual(crop.shape, (224, 224, 3))
    self.assertAllClose(example["fc7"], fake_fc7(crop[None].astype(
        np.float64))[0], atol=3.0)  # JPEG re-encoding changes stats slightly
    x0, y0, x1, y1 = example["face_box"].numpy()
    # The astronaut's face is in the upper middle of the photo.
    self.assertBetween((x0 + x1) / 2, 0.3, 0.6)
    self.assertBetween((y0 + y1) / 2, 0.1, 0.45)

    # TFDS reads the same shards: splits, sizes, slicing, features; and the
    # training input takes a TFDS split.
    builder = tfds.builder_from_directory(options.output_dir)
    for split in ("train", "test"):
      self.assertEqual(builder.info.splits[split].num_examples,
                       summary["splits"][split]["examples"])
    first_half = list(builder.as_dataset(split="train[:50%]"))
    self.assertLen(first_half, summary["splits"]["train"]["examples"] // 2)
    self.assertEqual(first_half[0]["face"]["feature"].shape, (4096,))
    self.assertEqual(first_half[0]["face"]["teacher"].numpy(), b"vgg_face_fc7")
    tfds_pattern = f"tfds:{options.output_dir}:train"
    self.assertEqual(input_pipeline.num_examples(tfds_pattern),
                     summary["splits"]["train"]["examples"])
    via_tfds = next(iter(input_pipeline.make_dataset(
        tfds_pattern, 2, False, deterministic=True, with_ids=True)))
    via_files = next(iter(input_pipeline.make_dataset(
        summary["splits"]["train"]["pattern"], 2, False, deterministic=True,
        with_ids=True)))
    self.assertAllEqual(via_tfds["clip_id"], via_files["clip_id"])
    self.assertAllClose(via_tfds["spectrogram"], via_files["spectrogram"])

    # Resume: delete one finished shard; the rerun rewrites only that one.
    all_files = sorted(tf.io.gfile.glob(os.path.join(options.output_dir,
                                                     "*.tfrecord")))
    victim = next(f for f in all_files if os.path.getsize(f) > 0)
    content = open(victim, "rb").read()
    others = {f: os.stat(f).st_mtime_ns for f in all_files if f != victim}
    victim_clips = sum(json_examples + skips for json_examples, skips in [
        self._shard_counts(victim)])
    os.remove(victim)
    summary2 = lib.run(specs, options, fake_loader)
    self.assertEqual(summary2["clips_processed_this_run"], victim_clips)
    self.assertEqual(open(victim, "rb").read(), content)
    for f, mtime in others.items():
      self.assertEqual(os.stat(f).st_mtime_ns, mtime, f)
    self.assertEqual(summary2["splits"], summary["splits"])
    self.assertEqual(summary2["skipped"], summary["skipped"])
    # A third run has nothing to do.
    self.assertEqual(lib.run(specs, options, fake_loader)[
        "clips_processed_this_run"], 0)

  def _shard_counts(self, path):
    import json  # pylint: disable=g-import-not-at-top
    with open(shard_files.stats_path(path)) as f:
      stats = json.load(f)
    return stats["examples"], sum(stats["skipped"].values())

  def test_split_is_by_speaker_and_stable(self):
    splits = [lib.split_of(f"speaker{i}", 0.25) for i in range(2000)]
    self.assertBetween(splits.count("test") / 2000.0, 0.21, 0.29)
    self.assertEqual(splits, [lib.split_of(f"speaker{i}", 0.25)
                              for i in range(2000)])

  def test_choose_face_rules(self):
    box = face_detector.Box
    big, small = box(10, 10, 110, 110, 1.0), box(300, 10, 390, 100, 1.0)
    with self.assertRaises(face_detector.NoFaceError):
      face_detector.choose_face([], (480, 640))
    with self.assertRaises(face_detector.SeveralFacesError):
      face_detector.choose_face([big, small], (480, 640))
    # A face centre picks the nearest face, even the smaller one.
    self.assertEqual(face_detector.choose_face(
        [big, small], (480, 640), centre=(345 / 640, 55 / 480)), small)
    self.assertEqual(face_detector.choose_face(
        [big, box(300, 10, 330, 40, 1.0)], (480, 640), min_face_pixels=20),
                     big)
    with self.assertRaises(face_detector.TinyFaceError):
      face_detector.choose_face([box(0, 0, 30, 30, 1.0)], (480, 640))
    # AVSpeech's centre inside no detected face: the speaker was not found.
    with self.assertRaises(face_detector.CentreOutsideFaceError) as ctx:
      face_detector.choose_face([big, small], (480, 640),
                                centre=(250 / 640, 300 / 480))
    self.assertEqual(ctx.exception.reason, "centre_outside_face")

  def test_crop_is_square_around_the_box_with_margin(self):
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:150, 100:200] = 255  # the "face" box
    crop = face_detector.crop_face(image, face_detector.Box(
        100, 50, 200, 150, 1.0), margin=1.0, size=100)
    # Margin 1.0 doubles the side: the white box fills the central half.
    self.assertEqual(crop.shape, (100, 100, 3))
    self.assertAllClose(crop[25:75, 25:75].mean(), 255, atol=1)
    self.assertAllClose(crop[:20, :20].mean(), 0, atol=1)

  def test_avspeech_and_voxceleb_sources(self):
    root = self.create_tempdir().full_path
    csv_path = os.path.join(root, "avspeech.csv")
    with open(csv_path, "w") as f:
      f.write("abc123,10.5,16.0,0.4,0.3\nxyz,0,4,0.5,0.5\n")
    open(os.path.join(root, "abc123.mkv"), "w").close()
    specs = clip_sources.avspeech(csv_path, root)
    self.assertEqual(specs[0].media_path, os.path.join(root, "abc123.mkv"))
    self.assertEqual((specs[0].start_s, specs[0].end_s, specs[0].face_centre),
                     (10.5, 16.0, (0.4, 0.3)))
    self.assertEqual(specs[1].speaker_id, "xyz")
    # The published split wins over the speaker hash.
    published = clip_sources.avspeech(csv_path, root, split="test")
    keyed, _ = lib.plan(published + specs, shard_options.ShardOptions(
        output_dir=root, test_fraction=0.0))
    self.assertEqual(sorted(key[0] for key, _ in keyed),
                     ["test", "test", "train", "train"])
    keyed, _ = lib.plan(clip_sources.avspeech(csv_path, root, split="train"),
                        shard_options.ShardOptions(output_dir=root, test_fraction=1.0))
    self.assertEqual([key[0] for key, _ in keyed], ["train", "train"])
    vox = os.path.join(root, "vox", "id001", "vidA")
    faces = os.path.join(root, "faces", "id001", "vidA")
    os.makedirs(vox)
    os.makedirs(faces)
    for name in ("00001.wav", "00002.wav"):
      open(os.path.join(vox, name), "w").close()
    for name in ("001.jpg", "002.jpg", "003.jpg"):
      open(os.path.join(faces, name), "w").close()
    specs = clip_sources.voxceleb(os.path.join(root, "vox"),
                                  os.path.join(root, "faces"))
    self.assertEqual([s.clip_id for s in specs],
                     ["id001/vidA/00001", "id001/vidA/00002"])
    self.assertEqual(specs[0].face_image_path, os.path.join(faces, "002.jpg"))


if __name__ == "__main__":
  tf.test.main()
