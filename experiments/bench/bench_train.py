"""Benchmark of full-size voice-encoder training: the Trainer's step on real shards.

Runs `Trainer.train_step` (tf.data from TFRecords, STFT in the pipeline,
Table 1 encoder, Eq. 1 with frozen f_dec and fc8, Adam) at the paper's batch
of 8, and as the baseline the bare encoder step on constant tensors (no
pipeline, no heads) in the same run. Prints steps/s, examples/s, achieved
TFLOP/s against the forward count of Table 1 (x3 for forward + backward) and
the ratio to the baseline.

  python experiments/bench/bench_train.py [--steps 3] [--strategy default]
"""

import os
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from s2f_tf import train_config
from s2f_tf import trainer as trainer_lib
from s2f_tf.models import voice_encoder
from tfrecords_schema import speech_face

flags.DEFINE_integer("steps", 3, "Timed steps.")
flags.DEFINE_string("strategy", "default", "tf.distribute strategy name.")
FLAGS = flags.FLAGS


def _write_shard(path, n):
  rng = np.random.RandomState(0)
  with tf.io.TFRecordWriter(path) as writer:
    for i in range(n):
      writer.write(speech_face.encode(
          waveform=0.1 * rng.randn(96000), sample_rate=16000,
          fc7=np.maximum(rng.randn(4096), 0), clip_id=f"c{i}",
          speaker_id=f"s{i % 4}", face_jpeg=b""))


def main(argv):
  del argv
  tmp = tempfile.mkdtemp()
  shard = os.path.join(tmp, "train-00000-of-00001.tfrecord")
  _write_shard(shard, 32)
  config = train_config.TrainConfig(
      train_pattern=shard, strategy=FLAGS.strategy, shuffle_buffer=32)
  t = trainer_lib.Trainer(config, os.path.join(tmp, "run"))
  batches = iter(t.strategy.experimental_distribute_dataset(
      t._dataset(shard, True)))  # pylint: disable=protected-access
  t.train_step(next(batches))
  start = time.perf_counter()
  for _ in range(FLAGS.steps):
    losses = t.train_step(next(batches))
  float(losses["total"])
  trainer_seconds = (time.perf_counter() - start) / FLAGS.steps

  model, optimizer = t.model, t.optimizer
  x = tf.constant(np.random.RandomState(1).randn(8, 598, 257, 2), tf.float32)
  y = tf.constant(np.random.RandomState(2).randn(8, 4096), tf.float32)

  @tf.function
  def bare_step():
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.abs(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  bare_step()
  start = time.perf_counter()
  for _ in range(FLAGS.steps):
    bare_step().numpy()
  bare_seconds = (time.perf_counter() - start) / FLAGS.steps

  flops = 3 * voice_encoder.forward_flops() * config.batch_size
  print(f"\nFull-size training step, batch {config.batch_size}, 6 s clips, "
        f"strategy {FLAGS.strategy} ({t.strategy.num_replicas_in_sync} "
        f"replica(s)), devices: {[d.name for d in tf.config.list_logical_devices()]}")
  print(f"forward {voice_encoder.forward_flops() / 1e9:.0f} GFLOP/clip "
        "(paper's model, ~207); step FLOPs = 3 x forward x batch")
  print(f"{'variant':40s} {'steps/s':>8s} {'examples/s':>11s} "
        f"{'TFLOP/s':>8s} {'vs baseline':>12s}")
  for name, seconds in (("bare encoder step, constants (baseline)",
                         bare_seconds),
                        ("Trainer.train_step: tf.data + Eq. 1", trainer_seconds)):
    print(f"{name:40s} {1 / seconds:8.3f} {config.batch_size / seconds:11.2f} "
          f"{flops / seconds / 1e12:8.3f} {bare_seconds / seconds:11.2f}x")


if __name__ == "__main__":
  app.run(main)
