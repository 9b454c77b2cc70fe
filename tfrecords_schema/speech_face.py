"""Speech/face pair examples: 16 kHz int16 waveform + the teacher's face feature + metadata.

Storage choice (WORKSPACE.md): the waveform, not the spectrogram. 6 s of
int16 PCM is 192 KB per example against 1.2 MB for a float32 598x257x2
spectrogram (0.33 TB instead of 2 TB for AVSpeech's 1.7 M clips); the STFT is
computed in the input pipeline, so one shard set serves 3 s and 6 s training
and any front-end flag.

The face feature is the teacher's (`face_teacher`: VGG-Face fc7, 4096-D, the
paper's; or dlib128). Its name is stored in every example and its dimension
fixes the parse spec, so readers name the teacher they expect.

Version history: 1 = first release (fc7 only); 2 = the feature of a named
teacher (`face/feature`, `face/teacher`).
"""

import numpy as np
import tensorflow as tf

from tfrecords_schema import face_teacher
from tfrecords_schema import feature_codec

SCHEMA_VERSION = 2

# Feature keys. Only this module may spell them.
_VERSION = "meta/schema_version"
_WAVEFORM = "audio/waveform_pcm16"
_SAMPLE_RATE = "audio/sample_rate"
_NUM_SAMPLES = "audio/num_samples"
_FEATURE = "face/feature"
_TEACHER = "face/teacher"
_FACE_JPEG = "face/image_jpeg"
_FACE_BOX = "face/box_xyxy"
_FRAME_TIME = "face/frame_time_s"
_CLIP_ID = "clip/id"
_SPEAKER_ID = "clip/speaker_id"
_SOURCE_PATH = "source/path"
_SOURCE_DATASET = "source/dataset"
_START_S = "source/start_s"
_END_S = "source/end_s"

# VGG-Face fc7, the paper's face feature (Sec. 3).
FC7_DIM = face_teacher.FC7_DIM



def feature_spec(teacher=face_teacher.DEFAULT):
  """The parse spec of examples made with the face teacher `teacher`."""
  return {
    _VERSION: tf.io.FixedLenFeature([], tf.int64),
    _WAVEFORM: tf.io.FixedLenFeature([], tf.string),
    _SAMPLE_RATE: tf.io.FixedLenFeature([], tf.int64),
    _NUM_SAMPLES: tf.io.FixedLenFeature([], tf.int64),
    _FEATURE: tf.io.FixedLenFeature([face_teacher.get(teacher).dim],
                                    tf.float32),
    _TEACHER: tf.io.FixedLenFeature([], tf.string),
    _FACE_JPEG: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    _FACE_BOX: tf.io.FixedLenFeature([4], tf.float32,
                                     default_value=[0.0, 0.0, 0.0, 0.0]),
    _FRAME_TIME: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    _CLIP_ID: tf.io.FixedLenFeature([], tf.string),
    _SPEAKER_ID: tf.io.FixedLenFeature([], tf.string),
    _SOURCE_PATH: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    _SOURCE_DATASET: tf.io.FixedLenFeature([], tf.string, default_value=b""),
    _START_S: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
    _END_S: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
  }


FEATURE_SPEC = feature_spec()


def waveform_to_pcm16(waveform):
  """float [-1, 1] -> little-endian int16 bytes (clipped)."""
  pcm = np.clip(np.round(np.asarray(waveform, np.float64) * 32768.0),
                -32768, 32767).astype("<i2")
  return pcm.tobytes()


def encode(*, waveform, sample_rate, fc7, clip_id, speaker_id,
           teacher=face_teacher.DEFAULT,
           face_jpeg=b"", face_box=(0.0, 0.0, 0.0, 0.0), frame_time_s=0.0,
           source_path="", source_dataset="", start_s=0.0, end_s=0.0):
  """Serialises one pair to tf.train.Example bytes.

  Args:
    waveform: 1-D float array in [-1, 1] (stored as int16 PCM).
    sample_rate: Hz of `waveform` (16000 for s2f's shards).
    fc7: the face crop's feature by `teacher` (4096 floats for VGG-Face
      fc7, the paper's; 128 for dlib128).
    clip_id, speaker_id: strings; the split is by speaker.
    face_jpeg: the 224x224 face crop as JPEG bytes (for TensorBoard/eval).
    face_box: (x0, y0, x1, y1) of the crop in the frame, normalised to [0, 1].
    frame_time_s: time of the frame the face came from, within the clip.
    source_path, source_dataset, start_s, end_s: provenance.
    teacher: the face teacher's name (`face_teacher.TEACHERS`).
  """
  fc7 = np.asarray(fc7, np.float32).reshape(-1)
  dim = face_teacher.get(teacher).dim
  if fc7.shape != (dim,):
    raise ValueError(f"a {teacher} feature has {dim} values, got "
                     f"{fc7.shape}")
  waveform = np.asarray(waveform).reshape(-1)
  feature = {
      _VERSION: feature_codec.int_feature(SCHEMA_VERSION),
      _WAVEFORM: feature_codec.bytes_feature(waveform_to_pcm16(waveform)),
      _SAMPLE_RATE: feature_codec.int_feature(sample_rate),
      _NUM_SAMPLES: feature_codec.int_feature(waveform.shape[0]),
      _FEATURE: feature_codec.floats_feature(fc7),
      _TEACHER: feature_codec.bytes_feature(teacher),
      _FACE_JPEG: feature_codec.bytes_feature(face_jpeg),
      _FACE_BOX: feature_codec.floats_feature(face_box),
      _FRAME_TIME: feature_codec.floats_feature([frame_time_s]),
      _CLIP_ID: feature_codec.bytes_feature(clip_id),
      _SPEAKER_ID: feature_codec.bytes_feature(speaker_id),
      _SOURCE_PATH: feature_codec.bytes_feature(source_path),
      _SOURCE_DATASET: feature_codec.bytes_feature(source_dataset),
      _START_S: feature_codec.floats_feature([start_s]),
      _END_S: feature_codec.floats_feature([end_s]),
  }
  return feature_codec.example_bytes(feature)


def decode(serialized, teacher=face_teacher.DEFAULT):
  """Parses one serialized example (works eagerly and inside Dataset.map).

  `teacher` is the face teacher the shards were made with (their summary.json
  says; `input_pipeline` checks it).

  Returns:
    dict with 'waveform' (float32 [-1, 1], variable length), 'sample_rate',
    'fc7' (the teacher's feature: (4096,) for VGG-Face fc7), 'teacher',
    'face_jpeg', 'face_box', 'frame_time_s', 'clip_id',
    'speaker_id', 'source_path', 'source_dataset', 'start_s', 'end_s',
    'schema_version'.
  """
  return _decoded(tf.io.parse_single_example(serialized,
                                             feature_spec(teacher)))


def _decoded(parsed):
  """Parsed features {key: tensor} -> the decoded dict of `decode`."""
  pcm = tf.io.decode_raw(parsed[_WAVEFORM], tf.int16, little_endian=True)
  return {
      "schema_version": parsed[_VERSION],
      "waveform": tf.cast(pcm, tf.float32) / 32768.0,
      "sample_rate": parsed[_SAMPLE_RATE],
      "fc7": parsed[_FEATURE],
      "teacher": parsed[_TEACHER],
      "face_jpeg": parsed[_FACE_JPEG],
      "face_box": parsed[_FACE_BOX],
      "frame_time_s": parsed[_FRAME_TIME],
      "clip_id": parsed[_CLIP_ID],
      "speaker_id": parsed[_SPEAKER_ID],
      "source_path": parsed[_SOURCE_PATH],
      "source_dataset": parsed[_SOURCE_DATASET],
      "start_s": parsed[_START_S],
      "end_s": parsed[_END_S],
  }


def teacher_of_record(serialized):
  """The face teacher named in one serialized example (any teacher's), or
  None for examples of schema 1, which held VGG-Face fc7 only."""
  parsed = tf.io.parse_single_example(serialized, {
      _TEACHER: tf.io.FixedLenFeature([], tf.string, default_value=b"")})
  name = parsed[_TEACHER].numpy().decode("utf-8")
  return name or None


def feature_keys():
  """Every key this schema writes (for the no-stray-keys test)."""
  return tuple(FEATURE_SPEC)


def tfds_features(teacher=face_teacher.DEFAULT):
  """The same spec as a TFDS FeaturesDict (nested by the keys' '/' parts,
  which TFDS joins back with '/' when it parses), for the metadata that
  makes a shard directory loadable by `tfds.builder_from_directory`."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  nested = {}
  for key, spec in feature_spec(teacher).items():
    group, name = key.split("/")
    nested.setdefault(group, {})[name] = tfds.features.Tensor(
        shape=tuple(spec.shape), dtype=spec.dtype)
  return tfds.features.FeaturesDict(
      {group: tfds.features.FeaturesDict(fields)
       for group, fields in nested.items()})


def from_tfds(example):
  """A `tfds_features()` example (as TFDS decodes it) -> `decode`'s dict."""
  flat = {f"{group}/{name}": value for group, fields in example.items()
          for name, value in fields.items()}
  return _decoded(flat)
