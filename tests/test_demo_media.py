"""Demo media: the artificial FSDD voice/photo pairs and the GRID links."""

import os

import tensorflow as tf

from experiments import demo_media
from s2f_tf.faces import video
from tests import shared_data


class DemoMediaTest(tf.test.TestCase):

  def test_fsdd_pairs_are_multi_second_talking_face_videos(self):
    shared_data.require(shared_data.FSDD_DIR)
    out = self.create_tempdir().full_path
    made = demo_media.fsdd_clips(shared_data.SHARED_DATA, out,
                                 clips_per_speaker=1, seconds=4.0)
    self.assertEqual(made, len(demo_media.FSDD_FACE_OF))
    for speaker in demo_media.FSDD_FACE_OF:
      path = os.path.join(out, f"fsdd_{speaker}", "clip0.mp4")
      duration, has_video, has_audio = video.probe(path)
      self.assertTrue(has_video and has_audio, path)
      self.assertBetween(duration, 4.0, 4.7)  # the audio, not more
    # A rerun reuses what exists.
    self.assertEqual(demo_media.fsdd_clips(shared_data.SHARED_DATA, out,
                                           clips_per_speaker=1), made)

  def test_grid_clips_one_speaker_each(self):
    shared_data.require(shared_data.GRID_DIR)
    out = self.create_tempdir().full_path
    count = demo_media.grid_clips(shared_data.SHARED_DATA, out)
    self.assertEqual(count, 9)
    self.assertLen(os.listdir(out), 9)


if __name__ == "__main__":
  tf.test.main()
