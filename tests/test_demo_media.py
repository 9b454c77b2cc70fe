"""Demo media: the artificial FSDD voice/photo pairs and the GRID links."""

import os

import tensorflow as tf

from data_prep import clip_sources
from experiments import demo_media
from s2f_tf import media
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

  def test_grid_clips_one_speaker_each(self):
    shared_data.require(shared_data.GRID_DIR)
    out = self.create_tempdir().full_path
    count = demo_media.grid_clips(shared_data.SHARED_DATA, out)
    self.assertEqual(count, 9)
    self.assertLen(os.listdir(out), 9)


if __name__ == "__main__":
  tf.test.main()
