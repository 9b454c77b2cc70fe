"""Benchmark of scaling out: the shard job on 1 vs 2 Dask workers, training
on 1 vs 2 TF_CONFIG workers, each as a ratio to its one-worker row.

Shard job: Beam's DaskRunner on a `distributed.LocalCluster` of N worker
processes (one thread each) over the real GRID clips of ../shared/data
(each listed `--copies` times under another speaker, HOG detector, random
VGG-Face: speed only); clips/s is clips over the job's wall time, startup
included. Training: N processes of the real training binary as one
`--strategy=multi_worker` cluster on 127.0.0.1 (the tiny encoder, global
batch `--batch_size`); examples/s is the mean of the logged rates after the
first log window (which holds tracing). Each worker gets
`--threads_per_worker` threads (default 1): with all cores each, one worker
already fills this 2-core machine and a second can only share them.

  python experiments/bench/bench_scaling.py [--copies 4] [--train_steps 30]
"""

import glob
import os
import tempfile
import time

from absl import app
from absl import flags

from data_prep import clip_sources
from data_prep import prepare_shards_lib
from data_prep import shard_options
from experiments.bench import local_workers
from experiments.bench import workloads
from s2f_tf import run_record

flags.DEFINE_integer("copies", 4, "Times each GRID clip is listed.")
flags.DEFINE_integer("train_steps", 30, "Training steps per row.")
flags.DEFINE_integer("batch_size", 32, "Global training batch.")
flags.DEFINE_list("workers", ["1", "2"], "Worker counts to measure.")
flags.DEFINE_integer("threads_per_worker", 1,
                     "TensorFlow/OpenMP threads per worker process (0: all "
                     "cores each, so workers share the same cores).")
flags.DEFINE_string("grid_dir", "", "GRID clips (default: ../shared/data/"
                    "grid_av beside the repository).")
FLAGS = flags.FLAGS

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")
GRID = os.path.join(REPO, "..", "shared", "data", "grid_av")
TRAIN_BINARY = os.path.join(REPO, "experiments", "train.py")
TINY = os.path.join(REPO, "experiments", "configs", "voice_encoder",
                    "tiny.json")


def _clips(root):
  """A video folder with every GRID clip `copies` times (speaker/copy)."""
  grid = FLAGS.grid_dir or GRID
  videos = sorted(glob.glob(os.path.join(grid, "*.mpg")))
  if not videos:
    raise app.UsageError(f"no GRID clips in {grid}: see ../shared/data")
  for copy in range(FLAGS.copies):
    folder = os.path.join(root, f"speaker{copy}")
    os.makedirs(folder)
    for path in videos:
      os.symlink(path, os.path.join(folder, os.path.basename(path)))
  return clip_sources.video_folder(root)


def shard_rate(specs, workers, out):
  """Clips/s of the shard job on a LocalCluster of `workers` processes."""
  from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  from distributed import LocalCluster  # pylint: disable=g-import-not-at-top
  cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                         processes=True, host="127.0.0.1",
                         dashboard_address=None)
  try:
    options = pipeline_options.PipelineOptions(
        [f"--dask_client_address={cluster.scheduler_address}"],
        runner="DaskRunner")
    loader = prepare_shards_lib.model_loader(detector="hog",
                                             allow_random_vgg_face=True)
    start = time.perf_counter()
    summary = prepare_shards_lib.run(
        specs, shard_options.ShardOptions(output_dir=out,
                                               examples_per_shard=4),
        loader, options)
    seconds = time.perf_counter() - start
  finally:
    cluster.close()
  done = sum(s["examples"] for s in summary["splits"].values())
  return done / seconds, done


def train_rate(workers, shards, workdir):
  """Examples/s of `workers` training processes on one global batch."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  processes = local_workers.start_workers(TRAIN_BINARY, [
      "--config", TINY, "--train_pattern", shards, "--eval_pattern", "",
      "--workdir", workdir, "--batch_size", str(FLAGS.batch_size),
      "--train_steps", str(FLAGS.train_steps), "--log_every", "10",
      "--image_every", "100000", "--checkpoint_every", "100000"],
      workers, env)
  logs = local_workers.wait(processes, timeout=1800)
  for process, log in zip(processes, logs):
    if process.returncode != 0:
      raise RuntimeError(f"a training worker failed:\n{log[-2000:]}")
  rates = [m["examples_per_s"] for m in run_record.read_metrics(workdir)[1:]]
  return sum(rates) / len(rates)


def _limit_threads(threads):
  """Workers inherit this process's environment: N threads each."""
  if threads:
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
      os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def main(argv):
  del argv
  _limit_threads(FLAGS.threads_per_worker)
  tmp = tempfile.mkdtemp()
  specs = _clips(os.path.join(tmp, "videos"))
  counts = [int(w) for w in FLAGS.workers]
  shard_rows = [(n, *shard_rate(specs, n, os.path.join(tmp, f"shards{n}")))
                for n in counts]
  shards = workloads.write_random_shard(os.path.join(tmp, "train.tfrecord"),
                                  4 * FLAGS.batch_size)
  train_rows = [(n, train_rate(n, shards, os.path.join(tmp, f"run{n}")))
                for n in counts]
  cores = os.cpu_count()
  threads = FLAGS.threads_per_worker or "all"
  print(f"\nScaling on {cores} CPU cores, workers on 127.0.0.1, one process "
        f"per worker, {threads} thread(s) per worker")
  print(f"{'job':44s} {'workers':>7s} {'rate':>9s} {'vs 1 worker':>12s}")
  rows = [(f"shard job, DaskRunner ({done} clips), clips/s", n, rate,
           shard_rows[0][1]) for n, rate, done in shard_rows]
  rows += [(f"training, tiny encoder, batch {FLAGS.batch_size}, examples/s",
            n, rate, train_rows[0][1]) for n, rate in train_rows]
  for job, n, rate, one_worker in rows:
    print(f"{job:44s} {n:7d} {rate:9.2f} {rate / one_worker:11.2f}x")


if __name__ == "__main__":
  app.run(main)
