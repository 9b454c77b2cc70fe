"""What the shard job is asked to do: its options and their defaults (Sec. 4), importable without TensorFlow or Beam.

`prepare_shards_lib.run` takes a ShardOptions; the binary's flags default
to these values, so `--help` answers without loading the job.
"""

import dataclasses

from s2f_tf.audio import audio_format
from s2f_tf.faces import face_detector
from tfrecords_schema import face_teacher

# AVSpeech: 0.15 M test / 1.85 M clips (Sec. 4) ~ 8 % of speakers in test.
TEST_FRACTION = 0.08
EXAMPLES_PER_SHARD = 1000  # ~200 MB shards at 6 s per clip.
MIN_CLIP_SECONDS = 3.0  # AVSpeech clips are 3-10 s (Sec. 4).
MAX_AUDIO_SECONDS = audio_format.CLIP_SECONDS  # Training reads the first 6 s.


@dataclasses.dataclass(frozen=True)
class ShardOptions:
  """One shard job: where its shards go, the split, the clips it keeps and
  the face teacher."""

  output_dir: str
  test_fraction: float = TEST_FRACTION
  examples_per_shard: int = EXAMPLES_PER_SHARD
  min_seconds: float = MIN_CLIP_SECONDS
  max_audio_seconds: float = MAX_AUDIO_SECONDS
  crop_margin: float = face_detector.CROP_MARGIN
  min_face_pixels: int = face_detector.MIN_FACE_PIXELS
  split_salt: str = "s2f"
  teacher: str = face_teacher.DEFAULT  # The face feature's network.
