"""Benchmark of the backbone: spectrogram throughput and voice-encoder train step.

Prints two tables. Spectrogram: clips/s of s2f's front end (eager, batched,
and inside tf.data) as a ratio to `tf.signal.stft` + the same compression,
measured in the same run. Train step: seconds per step of the full Table 1
model at batch 8 (compiled `tf.function`), as a ratio to the same step run
eagerly, plus the achieved GFLOP/s.

  python experiments/bench/bench_backbone.py [--batch_size 8] [--steps 2]
"""


from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from experiments.bench import timing
from experiments.bench import workloads
from s2f_tf.audio import spectrogram
from s2f_tf.models import voice_encoder

flags.DEFINE_integer("batch_size", 8, "Train-step batch (paper: 8).")
flags.DEFINE_integer("steps", 2, "Timed train steps per variant.")
flags.DEFINE_integer("clips", 64, "Clips for the spectrogram benchmark.")
FLAGS = flags.FLAGS

FORWARD_FLOPS = voice_encoder.forward_flops()


def _rate(fn, items, repeats=3):
  return items / timing.seconds_per_call(fn, repeats, best=True)


def bench_spectrogram(clips):
  waves = np.random.RandomState(0).uniform(-0.5, 0.5, (clips, 96000)).astype(
      np.float32)

  @tf.function
  def baseline(x):
    s = tf.signal.stft(x, 400, 160, 512)
    return tf.stack([spectrogram.power_law(tf.math.real(s)),
                     spectrogram.power_law(tf.math.imag(s))], -1)

  ours = tf.function(spectrogram.compressed_spectrogram)
  ds = tf.data.Dataset.from_tensor_slices(waves).map(
      spectrogram.training_spectrogram,
      num_parallel_calls=tf.data.AUTOTUNE).batch(8)

  def run_ds():
    for _ in ds:
      pass

  rows = [("tf.signal.stft + compression (baseline)",
           _rate(lambda: baseline(waves).numpy(), clips)),
          ("s2f compressed_spectrogram, batched", _rate(
              lambda: ours(waves).numpy(), clips)),
          ("s2f training_spectrogram in tf.data.map", _rate(run_ds, clips))]
  base = rows[0][1]
  print(f"\nSpectrogram, 6 s clips at 16 kHz, {clips} clips, "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} "
        "threads")
  print(f"{'variant':44s} {'clips/s':>10s} {'vs baseline':>12s}")
  for name, rate in rows:
    print(f"{name:44s} {rate:10.1f} {rate / base:11.2f}x")


def bench_train_step(batch_size, steps):
  rows = [(name, timing.seconds_per_call(
      workloads.tf_bare_step(batch_size, compiled), steps))
          for name, compiled in (("eager (baseline)", False),
                                 ("tf.function", True))]
  base = rows[0][1]
  print(f"\nVoice-encoder train step, batch {batch_size}, 598x257x2 input, "
        f"forward {FORWARD_FLOPS / 1e9:.0f} GFLOP/clip")
  print(f"{'variant':20s} {'s/step':>9s} {'examples/s':>11s} "
        f"{'GFLOP/s':>9s} {'speed vs baseline':>18s}")
  for name, seconds in rows:
    gflops = 3 * FORWARD_FLOPS * batch_size / seconds / 1e9
    print(f"{name:20s} {seconds:9.2f} {batch_size / seconds:11.2f} "
          f"{gflops:9.1f} {base / seconds:17.2f}x")


def main(argv):
  del argv
  bench_spectrogram(FLAGS.clips)
  bench_train_step(FLAGS.batch_size, FLAGS.steps)


if __name__ == "__main__":
  app.run(main)
