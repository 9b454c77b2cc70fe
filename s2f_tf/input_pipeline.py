"""tf.data reader of speech/face shards: decode -> parse -> batch -> prefetch.

Each example gives the network input ('spectrogram', (frames, 257, 2)) and the
target ('fc7': the face teacher's feature, 4096-D VGG-Face fc7 for the
paper's teacher) plus, on request, the face crop for image summaries.
Shards are read through the schema module; a truncated or corrupt shard ends
that file's records with a logged warning instead of killing training.
"""

import functools

import numpy as np
import tensorflow as tf

from s2f_tf.audio import audio_format
from s2f_tf.audio import spectrogram
from tfrecords_schema import face_teacher
from tfrecords_schema import shard_summary
from tfrecords_schema import speech_face

FACE_IMAGE_SIZE = face_teacher.FACE_SIZE
# `tfds:DIR:SPLIT` reads a shard directory through TFDS (its metadata is
# written by the shard job), with TFDS split slicing: tfds:/data:train[:10%].
TFDS_PREFIX = "tfds:"


def _tfds_source(pattern):
  """(tfds builder, split) of a `tfds:DIR:SPLIT` pattern."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  directory, split = pattern[len(TFDS_PREFIX):].rsplit(":", 1)
  return tfds.builder_from_directory(directory), split


def num_examples(file_pattern):
  """Examples behind a pattern when known without reading them (TFDS split
  sizes, or the shard job's summary.json); else None."""
  if isinstance(file_pattern, str) and file_pattern.startswith(TFDS_PREFIX):
    builder, split = _tfds_source(file_pattern)
    return int(builder.info.splits[split].num_examples)  # slices too
  return shard_summary.examples_matching(file_pattern)


def decode_face_jpeg(jpeg):
  """JPEG bytes -> (224, 224, 3) uint8; an empty string gives a black image."""
  def _decode():
    image = tf.io.decode_jpeg(jpeg, channels=3)
    return tf.image.resize(image, (FACE_IMAGE_SIZE, FACE_IMAGE_SIZE),
                           method="bilinear", antialias=True)
  image = tf.cond(tf.strings.length(jpeg) > 0, _decode,
                  lambda: tf.zeros((FACE_IMAGE_SIZE, FACE_IMAGE_SIZE, 3)))
  return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


SPECTROGRAM = "spectrogram"  # Table 1's input (the default).
WAVEFORM = "waveform"  # The ge2e encoder's input.
NETWORK_INPUTS = (SPECTROGRAM, WAVEFORM)


def parse(example, is_training, segment_seconds=audio_format.CLIP_SECONDS,
          with_images=False, with_ids=False, network_input=SPECTROGRAM):
  """A decoded example -> model inputs and targets.

  Training and evaluation read the same segment: the first `segment_seconds`
  of the clip, repeated if shorter (Sec. 4). `is_training` is kept for
  augmentations (none in the paper). `network_input`: 'spectrogram' (Table
  1's complex spectrogram) or 'waveform' (that segment's 16 kHz samples).
  """
  del is_training
  tf.debugging.assert_equal(
      example["sample_rate"], tf.constant(audio_format.SAMPLE_RATE, tf.int64),
      message="shard audio must be 16 kHz; regenerate the shards")
  if network_input == WAVEFORM:
    network = spectrogram.repeat_to_length(
        example["waveform"], spectrogram.num_samples(segment_seconds))
  else:
    network = spectrogram.training_spectrogram(example["waveform"],
                                               segment_seconds)
  features = {network_input: network, "fc7": example["fc7"]}
  if with_images:
    features["face_image"] = decode_face_jpeg(example["face_jpeg"])
  if with_ids:
    features["clip_id"] = example["clip_id"]
    features["speaker_id"] = example["speaker_id"]
  return features


def make_dataset(file_pattern, batch_size, is_training,
                 segment_seconds=audio_format.CLIP_SECONDS, shuffle_buffer=4096,
                 deterministic=False, seed=None, repeat=None,
                 with_images=False, with_ids=False, drop_remainder=True,
                 skip_examples=0, shard=None, teacher=face_teacher.DEFAULT,
                 network_input=SPECTROGRAM):
  """Builds the batched dataset of one split.

  Args:
    file_pattern: glob (or list of globs) of TFRecord shards, or
      `tfds:DIR:SPLIT` (TFDS split slicing, e.g. tfds:/data:train[:10%]).
    batch_size: global batch size; the last partial batch is dropped.
    is_training: shuffles files and examples and repeats forever by default.
    segment_seconds: 6.0 (paper training) or 3.0.
    shuffle_buffer: examples in the shuffle buffer.
    deterministic: fixed order (files and examples) for tests and evaluation.
    seed: shuffle seed.
    repeat: override the repeat (True/False); default: repeat when training.
    with_images: also yield the 224x224 face crops.
    with_ids: also yield 'clip_id' and 'speaker_id' strings.
    drop_remainder: drop the last partial batch (training); evaluation keeps
      it to see every example.
    skip_examples: examples of the (shuffled) stream to pass over before the
      first batch: a resumed run passes step x global batch, so it continues
      the data order instead of replaying it. Skipped records are read but
      not decoded.
    shard: (index, count): only worker `index`'s share of `count` (whole
      files when there are at least `count`, else every count-th record;
      TFDS splits through `tfds.even_splits`), for evaluation across
      workers. Training shards through tf.distribute instead.
    teacher: the face teacher the shards must have been made with
      (`face_teacher`); a mismatch is a TeacherMismatchError before any
      reading.
    network_input: the encoder's input, 'spectrogram' (Table 1) or
      'waveform' (ge2e); see `parse`.
  """
  if network_input not in NETWORK_INPUTS:
    raise ValueError(f"network_input={network_input!r}: choose one of "
                     f"{', '.join(NETWORK_INPUTS)}")
  shuffle = is_training and not deterministic
  if isinstance(file_pattern, str) and file_pattern.startswith(TFDS_PREFIX):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder, split = _tfds_source(file_pattern)
    face_teacher.check_same(
        teacher, builder.info.features["face"]["feature"].shape[0],
        f"The TFDS data set {builder.data_dir}")
    if shard:
      split = tfds.even_splits(split, shard[1])[shard[0]]
    ds = builder.as_dataset(split=split, shuffle_files=shuffle,
                            read_config=tfds.ReadConfig(shuffle_seed=seed))
    ds = ds.map(speech_face.from_tfds, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=deterministic or None)
    decoded = True
  else:
    patterns = [file_pattern] if isinstance(file_pattern, str) else \
        file_pattern
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
      raise FileNotFoundError(f"no TFRecord shards match {file_pattern!r}")
    shard_summary.check_teacher(files, teacher, speech_face.teacher_of_record,
                                "The speech/face shards in")
    record_shard = shard if shard and len(files) < shard[1] else None
    if shard and not record_shard:
      files = files[shard[0]::shard[1]]
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
      ds = ds.shuffle(len(files), seed=seed)
    read = lambda f: tf.data.TFRecordDataset(f).ignore_errors(
        log_warning=True)
    if deterministic:
      ds = ds.interleave(read, cycle_length=1)
    else:
      ds = ds.interleave(read, cycle_length=tf.data.AUTOTUNE,
                         num_parallel_calls=tf.data.AUTOTUNE,
                         deterministic=False)
    if record_shard:
      ds = ds.shard(record_shard[1], record_shard[0])
    decoded = False
  if repeat if repeat is not None else is_training:
    ds = ds.repeat()
  if shuffle:
    ds = ds.shuffle(shuffle_buffer, seed=seed)
  if skip_examples:
    ds = ds.skip(skip_examples)
  if not decoded:
    ds = ds.map(functools.partial(speech_face.decode, teacher=teacher),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=deterministic or None)
  ds = ds.map(lambda e: parse(e, is_training, segment_seconds, with_images,
                              with_ids, network_input),
              num_parallel_calls=tf.data.AUTOTUNE,
              deterministic=deterministic or None)
  ds = ds.batch(batch_size, drop_remainder=drop_remainder)
  return ds.prefetch(tf.data.AUTOTUNE)


def mean_feature(file_pattern, teacher):
  """The mean teacher feature over every example of `file_pattern`."""
  total, count = None, 0
  for record in tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(
      file_pattern))):
    feature = speech_face.decode(record, teacher)["fc7"].numpy().astype(
        np.float64)
    total = feature if total is None else total + feature
    count += 1
  if not count:
    raise FileNotFoundError(f"no examples match {file_pattern!r}")
  return (total / count).astype(np.float32)
