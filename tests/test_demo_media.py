"""Demo media: the artificial FSDD voice/photo pairs and the GRID links."""

import csv
import json
import os

import numpy as np
import tensorflow as tf

from data_prep import clip_sources
from experiments.app import demo_media
from s2f_tf import media
from s2f_tf.faces import face_descriptor
from tests import shared_data


class DemoMediaTest(tf.test.TestCase):

  def test_fsdd_utterances_use_disjoint_recordings_of_one_voice(self):
    shared_data.require(shared_data.FSDD_DIR)
    out = self.create_tempdir().full_path
    voices, faces = os.path.join(out, "voices"), os.path.join(out, "faces")
    made = demo_media.fsdd_utterances(shared_data.SHARED_DATA, voices, faces,
                                      utterances=4, seconds=3.0)
    self.assertEqual(made, 4 * len(demo_media.FSDD_FACE_OF))
    specs = clip_sources.voxceleb(voices, faces)
    self.assertLen(specs, made)
    for spec in specs:
      duration = media.probe(spec.media_path)[0]
      self.assertBetween(duration, 3.0, 4.2)  # recordings are < 1 s each
      self.assertTrue(os.path.isfile(spec.face_image_path))
      self.assertTrue(spec.speaker_id.startswith("fsdd_"))
    # Each utterance is new speech: no two WAVs of a speaker are equal.
    george = sorted(s.media_path for s in specs
                    if s.speaker_id == "fsdd_george")
    contents = {open(p, "rb").read()[44:] for p in george}
    self.assertLen(contents, 4)
    # A rerun reuses what exists.
    self.assertEqual(demo_media.fsdd_utterances(
        shared_data.SHARED_DATA, voices, faces, utterances=4), made)

  def test_each_voice_has_a_photo_of_its_gender_and_its_own_person(self):
    shared_data.require(shared_data.FACES_DIR)
    with open(os.path.join(shared_data.SHARED_DATA, "speech_fsdd",
                           "speakers.json")) as f:
      speakers = json.load(f)
    with open(os.path.join(shared_data.FACES_DIR, "gender.csv")) as f:
      gender = {r["file"]: r["gender"] for r in csv.DictReader(f)}
    for speaker, photo in demo_media.FSDD_FACE_OF.items():
      self.assertEqual(gender[photo], speakers[speaker]["gender"][0].upper(),
                       speaker)
    photos = list(demo_media.FSDD_FACE_OF.values())
    embedding = face_descriptor.DlibFaceEmbedder().embed(
        [media.read_image(os.path.join(shared_data.FACES_DIR, p))
         for p in photos])
    distance = np.linalg.norm(embedding[:, None] - embedding[None], axis=-1)
    # dlib's same-person threshold is 0.6: six different people.
    self.assertGreater(distance[~np.eye(len(photos), dtype=bool)].min(), 0.6)

  def test_grid_clips_one_speaker_each(self):
    shared_data.require(shared_data.GRID_DIR)
    out = self.create_tempdir().full_path
    count = demo_media.grid_clips(shared_data.SHARED_DATA, out)
    self.assertEqual(count, 9)
    self.assertLen(os.listdir(out), 9)


if __name__ == "__main__":
  tf.test.main()
