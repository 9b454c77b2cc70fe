"""Face-decoder fine-tuning data: training frames paired with the voice's predicted features.

The decoder learns to draw a face from the teacher's feature of that face;
at test time it is given a feature predicted from a voice, which sits
closer to the mean (WORKSPACE.md, "Decoder fine-tuned on predictions").
This job writes a decoder data folder in which each training clip's frame
appears once with its true feature and once per prediction of it (a head
that never heard the speaker predicted it: cross-fitted), mixed with
`other_faces` randomly drawn examples of the rest of the decoder's data
(true features) so the decoder keeps drawing true features. Examples whose
image id starts with `held_prefix` and that have no prediction (the
validation speakers' frames) are left out; a prediction whose frame the
decoder-data job skipped (no usable face) is skipped and counted. The summary keeps the source's
mean landmarks: the decoder fine-tuned on this folder is the one it was
built for. Shards are written atomically and the summary last; a folder
with a summary is complete and kept as it is (a rerun does nothing, a
killed run is redone: it takes minutes).
"""

import glob
import os

from absl import logging
import numpy as np
import tensorflow as tf

from data_prep import prepare_decoder_data_lib
from data_prep import shard_files
from tfrecords_schema import face_decoder_example
from tfrecords_schema import shard_summary

NUM_SHARDS = 8
PREDICTED = "predicted{}"  # augmentation of the i-th prediction's copy


def _records(pattern):
  for path in sorted(glob.glob(pattern)):
    for record in tf.data.TFRecordDataset(path):
      yield record.numpy()


def write(decoder_data_dir, predicted, out_dir, other_faces, held_prefix,
          scale=1.0, mean=None, seed=0):
  """Writes the fine-tuning folder (see module); returns its summary.

  predicted: {image id: [k, dim] predicted features} of the training clips'
    frames. scale: the predictions are spread about `mean` by this factor
    (1.0: as predicted).
  """
  if scale != 1.0 and mean is None:
    raise ValueError("spreading the predictions needs their mean")
  summary = shard_summary.read(out_dir)
  if summary is not None:
    return summary
  source = shard_summary.read_decoder_data(decoder_data_dir)
  predicted = {key.encode("utf-8") if isinstance(key, str) else key: value
               for key, value in predicted.items()}
  held = held_prefix.encode("utf-8")
  found, pool = set(), []
  for index, record in enumerate(_records(source["pattern"])):
    image_id = face_decoder_example.image_id_of(record)
    if image_id in predicted:
      found.add(image_id)
    elif not image_id.startswith(held):
      pool.append(index)
  skipped = {}
  missing = sorted(set(predicted) - found)
  if missing:  # frames the decoder-data job skipped (no usable face)
    skipped["frame_not_in_decoder_data"] = len(missing)
    logging.warning("%d predicted frames are not in %s (e.g. %s): skipped",
                    len(missing), decoder_data_dir, missing[0].decode())
  rng = np.random.RandomState(seed)
  other = set(rng.choice(len(pool), min(other_faces, len(pool)),
                         replace=False).tolist())
  other = {pool[i] for i in other}
  examples, counts = [], {"true_frames": 0, "predicted": 0, "other": 0}
  for index, record in enumerate(_records(source["pattern"])):
    image_id = face_decoder_example.image_id_of(record)
    if image_id in predicted:
      examples.append(record)
      counts["true_frames"] += 1
      for i, feature in enumerate(np.asarray(predicted[image_id])):
        if scale != 1.0:
          feature = mean + scale * (feature - mean)
        examples.append(face_decoder_example.with_input_feature(
            record, feature, PREDICTED.format(i)))
        counts["predicted"] += 1
    elif index in other:
      examples.append(record)
      counts["other"] += 1
  rng.shuffle(examples)
  os.makedirs(out_dir, exist_ok=True)
  shard_files.remove_stale_temps(out_dir)
  prefix = prepare_decoder_data_lib.SHARD_PREFIX
  for shard in range(NUM_SHARDS):
    records = examples[shard::NUM_SHARDS]
    shard_files.write_shard(
        shard_files.shard_path(out_dir, prefix, shard, NUM_SHARDS), records,
        {"examples": len(records), "skipped": {}})
  summary = {key: source[key] for key in (
      "mean_landmarks", "schema_version", "teacher") if key in source}
  summary.update(
      examples=len(examples), shards=NUM_SHARDS, skipped=skipped,
      pattern=shard_files.shard_pattern(out_dir, prefix, NUM_SHARDS),
      fine_tune=dict(counts, scale=scale, source=decoder_data_dir))
  shard_files.write_summary(out_dir, summary)  # last: the folder is whole
  return summary
