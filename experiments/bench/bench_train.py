"""Benchmark of full-size voice-encoder training: the Trainer's step on real shards.

Runs `Trainer.train_step` (tf.data from TFRecords, STFT in the pipeline,
Table 1 encoder, Eq. 1 with frozen f_dec and fc8, Adam) at the paper's batch
of 8, and as the baseline the bare encoder step on constant tensors (no
pipeline, no heads) in the same run. `--variants` adds the Trainer with
`jit_compile` and with `mixed_precision`; `--vs_pytorch` adds the same
Table 1 network written in PyTorch (needs `pip install torch==2.13.0`, the
CPU wheel; never a dependency of s2f), stepped the same way: L1 to a random
target, Adam, one warm-up step, then `--steps` timed steps. Prints steps/s,
examples/s, achieved GFLOP/s against the forward count of Table 1 (x3 for
forward + backward) and the ratio to the baseline.

  python experiments/bench/bench_train.py [--steps 2] [--strategy default]
      [--variants default,jit,mixed] [--vs_pytorch]
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

flags.DEFINE_integer("steps", 2, "Timed steps (after one warm-up step).")
flags.DEFINE_string("strategy", "default", "tf.distribute strategy name.")
flags.DEFINE_list("variants", ["default"],
                  "Trainer variants: default, jit (jit_compile), mixed "
                  "(mixed_precision).")
flags.DEFINE_boolean("vs_pytorch", False,
                     "Also time Table 1 written in PyTorch (torch installed).")
VARIANTS = {"default": {}, "jit": {"jit_compile": True},
            "mixed": {"mixed_precision": True}}
FLAGS = flags.FLAGS


def _write_shard(path, n):
  rng = np.random.RandomState(0)
  with tf.io.TFRecordWriter(path) as writer:
    for i in range(n):
      writer.write(speech_face.encode(
          waveform=0.1 * rng.randn(96000), sample_rate=16000,
          fc7=np.maximum(rng.randn(4096), 0), clip_id=f"c{i}",
          speaker_id=f"s{i % 4}", face_jpeg=b""))


def _seconds_per_step(step, steps):
  step()  # warm-up (tracing, allocation)
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return (time.perf_counter() - start) / steps


def torch_step_fn(batch_size, seed=0):
  """A step of Table 1 in PyTorch (NCHW), with TF's 'same' padding."""
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(seed)
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  layers, channels, time_frames, freq = [], 2, 598, 257
  for row in voice_encoder.VOICE_ENCODER_SPEC:
    if row.kind in ("conv_relu_bn", "conv"):
      pads = []
      for size, k, s in ((freq, row.kernel[1], row.strides[1]),
                         (time_frames, row.kernel[0], row.strides[0])):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
      layers += [torch.nn.ZeroPad2d(pads),
                 torch.nn.Conv2d(channels, row.filters, row.kernel,
                                 row.strides)]
      time_frames = -(-time_frames // row.strides[0])
      freq = -(-freq // row.strides[1])
      channels = row.filters
      if row.kind == "conv_relu_bn":
        layers += [torch.nn.ReLU(), torch.nn.BatchNorm2d(channels)]
    elif row.kind == "pool_time":
      layers.append(torch.nn.MaxPool2d(row.kernel, row.strides))
      time_frames //= row.strides[0]
  trunk = torch.nn.Sequential(*layers)
  head = torch.nn.Sequential(
      torch.nn.ReLU(), torch.nn.BatchNorm1d(channels * freq),
      torch.nn.Linear(channels * freq, voice_encoder.FEATURE_DIM),
      torch.nn.ReLU(),
      torch.nn.Linear(voice_encoder.FEATURE_DIM, voice_encoder.FEATURE_DIM))
  params = list(trunk.parameters()) + list(head.parameters())
  optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), eps=1e-4)
  x = torch.randn(batch_size, 2, 598, 257)
  y = torch.randn(batch_size, voice_encoder.FEATURE_DIM)

  def step():
    optimizer.zero_grad()
    features = trunk(x).mean(dim=2).flatten(1)  # row 14: mean over time
    loss = torch.nn.functional.l1_loss(head(features), y)
    loss.backward()
    optimizer.step()
    return float(loss)
  return step


def main(argv):
  del argv
  tmp = tempfile.mkdtemp()
  shard = os.path.join(tmp, "train-00000-of-00001.tfrecord")
  _write_shard(shard, 32)
  rows = []
  config = None
  for variant in FLAGS.variants:
    config = train_config.TrainConfig(
        train_pattern=shard, strategy=FLAGS.strategy, shuffle_buffer=32,
        allow_random_heads=True, **VARIANTS[variant])
    t = trainer_lib.Trainer(config, os.path.join(tmp, f"run_{variant}"))
    batches = iter(t.strategy.experimental_distribute_dataset(
        t._dataset(shard, True)))  # pylint: disable=protected-access
    seconds = _seconds_per_step(
        lambda: float(t.train_step(next(batches))["total"]), FLAGS.steps)
    rows.append((f"Trainer.train_step, {variant}", seconds))
    if variant == FLAGS.variants[0]:
      model, optimizer = t.model, t.optimizer
      x = tf.constant(np.random.RandomState(1).randn(8, 598, 257, 2),
                      tf.float32)
      y = tf.constant(np.random.RandomState(2).randn(8, 4096), tf.float32)

      @tf.function
      def bare_step():
        with tf.GradientTape() as tape:
          loss = tf.reduce_mean(tf.abs(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

      baseline = _seconds_per_step(lambda: bare_step().numpy(), FLAGS.steps)
      rows.insert(0, ("bare encoder step, TF (baseline)", baseline))
  if FLAGS.vs_pytorch:
    rows.append(("bare encoder step, PyTorch",
                 _seconds_per_step(torch_step_fn(config.batch_size),
                                   FLAGS.steps)))

  flops = 3 * voice_encoder.forward_flops() * config.batch_size
  print(f"\nFull-size training step, batch {config.batch_size}, 6 s clips, "
        f"strategy {FLAGS.strategy}, devices: "
        f"{[d.name for d in tf.config.list_logical_devices()]}")
  print(f"forward {voice_encoder.forward_flops() / 1e9:.0f} GFLOP/clip "
        "(paper's model, ~207); step FLOPs = 3 x forward x batch")
  print(f"{'variant':40s} {'s/step':>8s} {'examples/s':>11s} "
        f"{'GFLOP/s':>8s} {'vs baseline':>12s}")
  baseline = rows[0][1]
  for name, seconds in rows:
    print(f"{name:40s} {seconds:8.2f} {config.batch_size / seconds:11.2f} "
          f"{flops / seconds / 1e9:8.1f} {baseline / seconds:11.2f}x")


if __name__ == "__main__":
  app.run(main)
