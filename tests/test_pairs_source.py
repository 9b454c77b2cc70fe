"""The project page's voice/face pairs: the reader, the committed split, the shard job on them."""

import collections
import csv
import os
import shutil
import subprocess

import tensorflow as tf

from data_prep import clip_sources
from data_prep import prepare_shards_lib
from data_prep import shard_options
from s2f_tf import input_pipeline
from tests import shared_data
from tfrecords_schema import face_teacher
from tfrecords_schema import speech_face

AVSPEECH_CLIP = "-1nRm4tQL0A_024.760000-029.960000"
VOX_CLIP = "0012Donald_Glover_1p1Ds52eevo_0000002"


def _copy_pair(pairs_dir, folder, clip, out_root, as_wav):
  """One clip in the project page's layout under out_root/figures/folder,
  its voice as the original repository's .wav or the shared .flac."""
  source = os.path.join(pairs_dir, "figures", folder)
  target = os.path.join(out_root, "figures", folder)
  for sub in ("Face_ori", "Face_exg0", "Face_f2f"):
    os.makedirs(os.path.join(target, sub), exist_ok=True)
    shutil.copy(os.path.join(source, sub, clip + ".jpg"),
                os.path.join(target, sub, clip + ".jpg"))
  os.makedirs(os.path.join(target, "Wav"), exist_ok=True)
  flac = os.path.join(source, "Wav", clip + ".flac")
  if as_wav:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", flac,
                    os.path.join(target, "Wav", clip + ".wav")], check=True)
  else:
    shutil.copy(flac, os.path.join(target, "Wav", clip + ".flac"))


class PairsReaderTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.pairs = shared_data.require(shared_data.PAIRS_DIR)
    self.root = self.create_tempdir().full_path
    _copy_pair(self.pairs, "avspeech_res", AVSPEECH_CLIP, self.root, True)
    _copy_pair(self.pairs, "voxceleb", VOX_CLIP, self.root, False)

  def test_reads_wav_and_flac_with_speakers_by_rule(self):
    specs = {s.clip_id: s for s in clip_sources.speech2face_pairs(self.root)}
    self.assertCountEqual(specs, [AVSPEECH_CLIP, VOX_CLIP])
    self.assertTrue(specs[AVSPEECH_CLIP].media_path.endswith(".wav"))
    self.assertTrue(specs[VOX_CLIP].media_path.endswith(".flac"))
    # No pairs.csv here: the speaker comes from the clip name.
    self.assertEqual(specs[AVSPEECH_CLIP].speaker_id, "-1nRm4tQL0A")
    self.assertEqual(specs[VOX_CLIP].speaker_id, "Donald_Glover")
    self.assertEqual(specs[VOX_CLIP].dataset, "voxceleb")
    self.assertTrue(os.path.isfile(specs[VOX_CLIP].face_image_path))
    self.assertTrue(os.path.isfile(clip_sources.paper_output(
        specs[VOX_CLIP].media_path)))

  def test_speaker_rule_agrees_with_pairs_csv(self):
    rows = clip_sources.read_pairs_csv(os.path.join(self.pairs, "pairs.csv"))
    datasets = {"avspeech": "avspeech", "voxceleb": "voxceleb"}
    for clip, row in rows.items():
      if row["speaker"] in clip_sources.VOICE_ASSISTANTS:
        continue
      self.assertEqual(clip_sources.pair_speaker(clip, datasets[row["set"]]),
                       row["speaker"], clip)

  def test_split_file_and_shards_of_both_formats(self):
    split_file = os.path.join(self.root, "split.csv")
    with open(split_file, "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(("clip", "speaker", "split"))
      writer.writerow((AVSPEECH_CLIP, "-1nRm4tQL0A", "train"))
      writer.writerow((VOX_CLIP, "Donald_Glover", "test"))
    specs = clip_sources.speech2face_pairs(self.root, split_file)
    out = os.path.join(self.root, "shards")
    summary = prepare_shards_lib.run(
        specs, shard_options.ShardOptions(
            output_dir=out, teacher=face_teacher.DLIB128),
        prepare_shards_lib.model_loader(detector="hog",
                                        teacher=face_teacher.DLIB128))
    self.assertEqual(summary["teacher"], {"name": "dlib128", "dim": 128})
    self.assertEqual(summary["splits"]["train"]["examples"], 1)
    self.assertEqual(summary["splits"]["test"]["examples"], 1)
    batch = next(iter(input_pipeline.make_dataset(
        summary["splits"]["train"]["pattern"], 1, False, deterministic=True,
        with_ids=True, teacher=face_teacher.DLIB128)))
    self.assertEqual(batch["fc7"].shape, (1, 128))
    self.assertEqual(batch["speaker_id"].numpy()[0], b"-1nRm4tQL0A")
    # 6 s of 16 kHz speech from the .wav, as from a .flac.
    self.assertEqual(batch["spectrogram"].shape[1], 598)


class CommittedSplitTest(tf.test.TestCase):

  def test_speaker_disjoint_and_voxceleb_test_celebrities_in_test(self):
    rows = clip_sources.read_split_file(clip_sources.PAIRS_SPLIT_FILE)
    speakers = collections.defaultdict(set)
    for speaker, split in rows.values():
      speakers[split].add(speaker)
    self.assertEmpty(speakers["train"] & speakers["test"])
    self.assertGreaterEqual(len(speakers["test"]), 100)  # galleries of 100
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    meta = clip_sources.read_pairs_csv(os.path.join(pairs, "pairs.csv"))
    self.assertCountEqual(meta, rows)
    for clip, row in meta.items():
      if row["voxceleb1_split"] == "test":
        self.assertEqual(rows[clip][1], "test", clip)
      if row["speaker"] in clip_sources.VOICE_ASSISTANTS:
        self.assertEqual(rows[clip][1], "excluded", clip)

  def test_no_voice_or_face_on_both_sides(self):
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    specs = clip_sources.speech2face_pairs(pairs,
                                           clip_sources.PAIRS_SPLIT_FILE)
    files = collections.defaultdict(set)
    for spec in specs:
      for path in (spec.media_path, spec.face_image_path):
        with open(path, "rb") as f:
          files[spec.split].add(hash(f.read()))
    self.assertEmpty(files["train"] & files["test"])
    self.assertLen(specs, 1296)

  def test_decoder_photos_hold_no_test_face(self):
    from data_prep import pairs_data  # pylint: disable=g-import-not-at-top
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    train, test = pairs_data.split_specs(pairs)
    photos = self.create_tempdir().full_path
    pairs_data.decoder_photos(train, photos)
    linked = {os.path.realpath(os.path.join(d, n))
              for d, _, names in os.walk(photos) for n in names}
    self.assertLen(linked, len(train))
    self.assertEmpty(linked & {os.path.realpath(s.face_image_path)
                               for s in test})


class TeacherTest(tf.test.TestCase):

  def test_dlib128_features_are_closer_for_the_same_person(self):
    faces = shared_data.require(shared_data.FACES_DIR)
    import numpy as np  # pylint: disable=g-import-not-at-top
    from s2f_tf import media  # pylint: disable=g-import-not-at-top
    from s2f_tf.faces import face_detector  # pylint: disable=g-import-not-at-top
    models = prepare_shards_lib.load_models(detector="hog",
                                            teacher=face_teacher.DLIB128)
    with open(os.path.join(faces, "master.csv")) as f:
      pairs = [(r["file_x"], r["file_y"], r["Decision"] == "Yes")
               for r in csv.DictReader(f)]
    feature = {}
    for name in sorted({n for p in pairs for n in p[:2]}):
      image = media.read_image(os.path.join(faces, name))
      try:  # the shard job's own path: detect, choose, crop, teacher
        box = face_detector.choose_face(models.detector.detect(image),
                                        image.shape)
      except face_detector.FaceError:
        continue
      crop = face_detector.crop_face(image, box)
      feature[name] = np.asarray(models.fc7(crop[None]))[0]
    self.assertEqual(feature[next(iter(feature))].shape, (128,))
    scored = [(float(np.dot(feature[a], feature[b]) / np.linalg.norm(
        feature[a]) / np.linalg.norm(feature[b])), same)
              for a, b, same in pairs if a in feature and b in feature]
    same = np.array([c for c, s in scored if s])
    other = np.array([c for c, s in scored if not s])
    self.assertGreater(len(same), 30)
    self.assertGreater(len(other), 30)
    # ROC AUC as the Mann-Whitney probability that a same-person pair is
    # more similar than a different-person pair.
    auc = np.mean(same[:, None] > other[None, :]) + 0.5 * np.mean(
        same[:, None] == other[None, :])
    self.assertGreater(auc, 0.95)
    self.assertGreater(same.mean(), other.mean() + 0.1)

  def test_dim_is_checked_when_writing(self):
    with self.assertRaisesRegex(ValueError, "dlib128 feature has 128"):
      speech_face.encode(waveform=[0.0] * 10, sample_rate=16000,
                         fc7=[0.0] * 4096, clip_id="c", speaker_id="s",
                         teacher=face_teacher.DLIB128)

  def test_reading_shards_of_another_teacher_is_one_error(self):
    from tests import fake_shards  # pylint: disable=g-import-not-at-top
    pattern = fake_shards.write_shards(self.create_tempdir().full_path,
                                       "train", 4,
                                       teacher=face_teacher.DLIB128)
    with self.assertRaisesRegex(face_teacher.TeacherMismatchError,
                                "made with the face teacher dlib128, not "
                                "vgg_face_fc7"):
      input_pipeline.make_dataset(pattern, 2, False)
    batch = next(iter(input_pipeline.make_dataset(
        pattern, 2, False, teacher=face_teacher.DLIB128)))
    self.assertEqual(batch["fc7"].shape, (2, 128))

  def test_decoder_of_another_teacher_is_one_error(self):
    import numpy as np  # pylint: disable=g-import-not-at-top
    from s2f_tf import frozen_heads  # pylint: disable=g-import-not-at-top
    from s2f_tf.models import face_decoder  # pylint: disable=g-import-not-at-top
    decoder = face_decoder.build_face_decoder(
        np.random.RandomState(0).uniform(60, 160, (68, 2)),
        face_decoder.SPECS["tiny"], feature_dim=128)
    path = os.path.join(self.create_tempdir().full_path, "d.keras")
    face_decoder.image_model(decoder).save(path)
    with self.assertRaisesRegex(face_teacher.TeacherMismatchError,
                                "dlib128 \\(128-D\\), not vgg_face_fc7"):
      frozen_heads.load_face_decoder(path)
    fc, loaded = frozen_heads.load_face_decoder(
        path, teacher=face_teacher.DLIB128)
    self.assertEqual(fc.kernel.shape, (128, 1000))
    self.assertEqual(loaded.output.shape[1:], (224, 224, 3))
    self.assertIsNone(frozen_heads.load_fc8(teacher=face_teacher.DLIB128))


if __name__ == "__main__":
  tf.test.main()
