"""Benchmark of the full-size training step under KERAS_BACKEND=jax (no TensorFlow).

For accelerator machines that have JAX but not TensorFlow. The step is
jitted with Keras' stateless API: front end on device (waveform -> STFT),
Table 1 encoder, Eq. 1 with frozen f_dec / fc8, Adam with the paper's
schedule. Baseline, in the same run: the bare encoder step (precomputed
spectrogram, L1 to fc7, no heads). Prints steps/s, examples/s and achieved
TFLOP/s against Table 1's forward count (x3 for forward + backward).

  KERAS_BACKEND=jax python experiments/bench/bench_train_jax.py \
      [--batch_size 8] [--steps 10] [--encoder tiny]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from s2f_tf.audio import spectrogram  # pylint: disable=g-import-not-at-top,wrong-import-position
from s2f_tf.losses import speech2face_loss  # pylint: disable=g-import-not-at-top,wrong-import-position
from s2f_tf.models import voice_encoder  # pylint: disable=g-import-not-at-top,wrong-import-position


def _frozen_dense(units):
  layer = keras.layers.Dense(units)
  layer.build((None, 4096))
  layer.trainable = False
  return layer


def _step_fn(model, optimizer, loss_fn, front_end):
  def loss(trainable, non_trainable, x, y):
    spec = front_end(x) if front_end else x
    pred, non_trainable = model.stateless_call(trainable, non_trainable, spec,
                                               training=True)
    return loss_fn(y, pred), non_trainable

  grad = jax.value_and_grad(loss, has_aux=True)

  @jax.jit
  def step(state, x, y):
    trainable, non_trainable, opt_vars = state
    (value, non_trainable), grads = grad(trainable, non_trainable, x, y)
    trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
    return value, (trainable, non_trainable, opt_vars)

  return step


def _time(step, state, x, y, steps):
  value, state = step(state, x, y)  # compile
  value.block_until_ready()
  start = time.perf_counter()
  for _ in range(steps):
    value, state = step(state, x, y)
  value.block_until_ready()
  return (time.perf_counter() - start) / steps


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--batch_size", type=int, default=8)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--encoder", default="table1",
                      choices=sorted(voice_encoder.SPECS),
                      help="table1 (the paper's) or tiny (its narrow CPU "
                      "twin: checks the JAX path where compiling the full "
                      "step needs more memory than a small machine has)")
  args = parser.parse_args()
  rng = np.random.RandomState(0)
  batch = args.batch_size
  waveform = rng.uniform(-0.3, 0.3, (batch, 96000)).astype(np.float32)
  spec = np.asarray(spectrogram.compressed_spectrogram(waveform))
  fc7 = np.maximum(rng.randn(batch, 4096), 0).astype(np.float32)
  eq1 = speech2face_loss.Speech2FaceLoss(_frozen_dense(1000),
                                         _frozen_dense(2622))
  rows = []
  for name, loss_fn, front_end, x in (
      ("bare encoder step, spectrogram in (baseline)",
       lambda y, p: keras.ops.mean(keras.ops.abs(p - y)), None, spec),
      ("waveform -> STFT -> encoder -> Eq. 1",
       lambda y, p: keras.ops.mean(eq1.per_example(y, p)["total"]),
       spectrogram.compressed_spectrogram, waveform)):
    model = voice_encoder.build_voice_encoder(
        voice_encoder.SPECS[args.encoder])
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(1e-3, 10_000, 0.95,
                                                    staircase=True),
        beta_1=0.5, epsilon=1e-4)
    optimizer.build(model.trainable_variables)
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    seconds = _time(_step_fn(model, optimizer, loss_fn, front_end), state, x,
                    fc7, args.steps)
    rows.append((name, seconds))
  flops = 3 * voice_encoder.forward_flops(
      voice_encoder.SPECS[args.encoder]) * batch
  print(f"\n{args.encoder} encoder's training step under Keras "
        f"{keras.__version__} / JAX "
        f"{jax.__version__}, devices {jax.devices()}, batch {batch}, 6 s clips")
  print(f"{'variant':46s} {'steps/s':>8s} {'examples/s':>11s} "
        f"{'TFLOP/s':>8s} {'vs baseline':>12s}")
  for name, seconds in rows:
    print(f"{name:46s} {1 / seconds:8.3f} {batch / seconds:11.2f} "
          f"{flops / seconds / 1e12:8.3f} {rows[0][1] / seconds:11.2f}x")


if __name__ == "__main__":
  main()
