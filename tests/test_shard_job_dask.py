"""The shard job on Dask (Beam's DaskRunner): a LocalCluster of two worker
processes started by the test gives the in-process runner's result."""

import glob
import json
import os

import tensorflow as tf

from apache_beam.options import pipeline_options
from data_prep import clip_sources
from data_prep import prepare_shards_lib as lib
from data_prep import shard_options
from tests import shared_data
from tfrecords_schema import speech_face


def clip_ids(output_dir):
  ids = []
  for path in sorted(glob.glob(os.path.join(output_dir, "*.tfrecord"))):
    for record in tf.data.TFRecordDataset(path):
      ids.append(speech_face.decode(record)["clip_id"].numpy().decode())
  return sorted(ids)


class DaskRunnerTest(tf.test.TestCase):

  def test_two_dask_workers_match_the_in_process_runner(self):
    from distributed import LocalCluster  # pylint: disable=g-import-not-at-top
    grid = shared_data.require(shared_data.GRID_DIR)
    root = self.create_tempdir().full_path
    videos = os.path.join(root, "videos")
    os.makedirs(videos)
    for path in sorted(glob.glob(os.path.join(grid, "*.mpg"))):
      os.symlink(path, os.path.join(videos, os.path.basename(path)))
    with open(os.path.join(videos, "corrupt.mp4"), "wb") as f:
      f.write(b"\x00not a video" * 100)
    specs = clip_sources.video_folder(videos)
    options = lambda out: shard_options.ShardOptions(output_dir=out, test_fraction=0.3,
                                           examples_per_shard=2)
    loader = lib.model_loader(detector="hog", allow_random_vgg_face=True)
    local = lib.run(specs, options(os.path.join(root, "local")), loader)

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
      beam_options = pipeline_options.PipelineOptions(
          [f"--dask_client_address={cluster.scheduler_address}"],
          runner="DaskRunner")
      dask = lib.run(specs, options(os.path.join(root, "dask")), loader,
                     beam_options)
      workers = len(cluster.workers)
    finally:
      cluster.close()
    self.assertEqual(workers, 2)
    self.assertEqual(dask["skipped"], local["skipped"])
    self.assertEqual(dask["skipped"], {"unreadable_media": 1})
    for split in local["splits"]:
      self.assertEqual(dask["splits"][split]["examples"],
                       local["splits"][split]["examples"])
    ids = clip_ids(os.path.join(root, "dask"))
    self.assertEqual(ids, clip_ids(os.path.join(root, "local")))
    self.assertLen(ids, 9)
    # Both workers wrote shards (Beam's default would pack this job's few
    # shards into one dask partition, run by one worker).
    writers = set()
    for path in glob.glob(os.path.join(root, "dask", "*.tfrecord.json")):
      with open(path) as f:
        writers.add(json.load(f)["worker"])
    self.assertLen(writers, 2)


if __name__ == "__main__":
  tf.test.main()
