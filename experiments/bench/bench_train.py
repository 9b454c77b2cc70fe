"""Benchmark of full-size voice-encoder training: the training loop's step on real shards.

Rows, each measured in its own process (`timing.run_row`), all at the
paper's batch of 8 on 6 s clips, stepped the same way (one warm-up step,
then `--steps` timed steps):

  * the bare Table 1 encoder step on constant tensors, TensorFlow (baseline:
    L1 to a random target, Adam; no pipeline, no heads);
  * `TrainingLoop.train_step` (tf.data from TFRecords, STFT in the pipeline,
    Eq. 1 with frozen f_dec and fc8, Adam) for each of `--variants`:
    default, jit (`jit_compile`), mixed (`mixed_precision`, bfloat16);
  * with `--vs_pytorch`, the same Table 1 network and bare step written in
    PyTorch (needs the CPU wheel `torch==2.13.0`, never a dependency of s2f).

Prints s/step, examples/s, achieved GFLOP/s against the forward count of
Table 1 (x3 for forward + backward) and the speed ratio to the baseline.
`--profile` adds where a step's time goes: each Table 1 convolution, and
its ReLU + BN, timed alone forward and forward + backward, in TensorFlow
and (with `--vs_pytorch`) PyTorch.

  python experiments/bench/bench_train.py [--steps 2] [--strategy default]
      [--variants default,jit,mixed] [--vs_pytorch] [--profile]
"""

import os
import tempfile

from absl import app
from absl import flags
import numpy as np

from experiments.bench import timing
from experiments.bench import workloads
from s2f_tf.models import voice_encoder

flags.DEFINE_integer("steps", 2, "Timed steps (after one warm-up step).")
flags.DEFINE_integer("batch_size", 8, "Examples per step (paper: 8).")
flags.DEFINE_string("strategy", "default", "tf.distribute strategy name.")
flags.DEFINE_list("variants", ["default"],
                  "Training-loop variants: default, jit (jit_compile), mixed "
                  "(mixed_precision).")
flags.DEFINE_boolean("vs_pytorch", False,
                     "Also time Table 1 written in PyTorch (torch installed).")
flags.DEFINE_boolean("profile", False,
                     "Also time each Table 1 layer alone, forward and "
                     "forward + backward.")
flags.DEFINE_string("row", "", "Internal: measure this one row and exit.")
VARIANTS = {"default": {}, "jit": {"jit_compile": True},
            "mixed": {"mixed_precision": True}}
FRAMES = workloads.FRAMES
FLAGS = flags.FLAGS


def _conv_shapes(batch_size):
  """(row, input NHWC shape) of every conv row of Table 1 on a 6 s clip."""
  shapes, time_frames, freq, channels = [], FRAMES, 257, 2
  for row in voice_encoder.VOICE_ENCODER_SPEC:
    if row.kind in ("conv_relu_bn", "conv"):
      shapes.append((row, (batch_size, time_frames, freq, channels)))
      time_frames = -(-time_frames // row.strides[0])
      freq = -(-freq // row.strides[1])
      channels = row.filters
    elif row.kind == "pool_time":
      time_frames //= row.strides[0]
  return shapes


def _same_pads(size, kernel, stride):
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def _torch_table1():
  """Table 1 in PyTorch (NCHW) with TF's 'same' padding: (trunk, head)."""
  import torch  # pylint: disable=g-import-not-at-top
  layers, time_frames, freq, channels = [], FRAMES, 257, 2
  for row in voice_encoder.VOICE_ENCODER_SPEC:
    if row.kind in ("conv_relu_bn", "conv"):
      layers += [torch.nn.ZeroPad2d(
          _same_pads(freq, row.kernel[1], row.strides[1])
          + _same_pads(time_frames, row.kernel[0], row.strides[0])),
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
  head = torch.nn.Sequential(  # rows 14-16: ReLU, BN, fc1 + ReLU, fc2
      torch.nn.ReLU(), torch.nn.BatchNorm1d(channels * freq),
      torch.nn.Linear(channels * freq, voice_encoder.FEATURE_DIM),
      torch.nn.ReLU(),
      torch.nn.Linear(voice_encoder.FEATURE_DIM, voice_encoder.FEATURE_DIM))
  return torch.nn.Sequential(*layers), head


def torch_step_fn(batch_size, seed=0):
  """A bare step of Table 1 in PyTorch: L1 to a random target, Adam."""
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(seed)
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  trunk, head = _torch_table1()
  params = list(trunk.parameters()) + list(head.parameters())
  optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999), eps=1e-4)
  x = torch.randn(batch_size, 2, FRAMES, 257)
  y = torch.randn(batch_size, voice_encoder.FEATURE_DIM)

  def step():
    optimizer.zero_grad()
    features = trunk(x).mean(dim=2).flatten(1)  # row 14: mean over time
    loss = torch.nn.functional.l1_loss(head(features), y)
    loss.backward()
    optimizer.step()
    return float(loss)
  return step


def _trainer_step(variant, batch_size, strategy):
  from s2f_tf import train_config  # pylint: disable=g-import-not-at-top
  from s2f_tf import voice_encoder_trainer  # pylint: disable=g-import-not-at-top
  tmp = tempfile.mkdtemp()
  shard = os.path.join(tmp, "train-00000-of-00001.tfrecord")
  workloads.write_random_shard(shard, 4 * batch_size)
  config = train_config.TrainConfig.create(
      train_pattern=shard, strategy=strategy, batch_size=batch_size,
      shuffle_buffer=32, allow_random_heads=True, **VARIANTS[variant])
  loop = voice_encoder_trainer.trainer(config, os.path.join(tmp, "run"))
  batches = iter(loop.distribute(loop.task.train_dataset(0)))
  return lambda: float(loop.train_step(next(batches))["total"])


def _profile_tf(batch_size):
  """Seconds per Table 1 conv row, TensorFlow/Keras layers, NHWC."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng, out = np.random.RandomState(0), {}
  for row, shape in _conv_shapes(batch_size):
    x = tf.constant(rng.randn(*shape), tf.float32)
    conv = keras.layers.Conv2D(row.filters, row.kernel, strides=row.strides,
                               padding="same")
    y0 = conv(x)
    g = tf.constant(rng.randn(*y0.shape), tf.float32)
    relu, bn = keras.layers.ReLU(), keras.layers.BatchNormalization()
    bn(y0)
    wrt_x = row.name != "conv1"  # the first layer needs no input gradient

    @tf.function
    def fwd(conv=conv, x=x):
      return tf.reduce_sum(conv(x))

    @tf.function
    def fwd_bwd(conv=conv, x=x, g=g, wrt_x=wrt_x):
      with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(conv(x) * g)
      return tape.gradient(loss, ([x] if wrt_x else [])
                           + conv.trainable_variables)

    @tf.function
    def bn_fwd_bwd(relu=relu, bn=bn, y0=y0, g=g):
      with tf.GradientTape() as tape:
        tape.watch(y0)
        loss = tf.reduce_sum(bn(relu(y0), training=True) * g)
      return tape.gradient(loss, [y0] + bn.trainable_variables)

    def run(fn):
      return lambda: [np.asarray(v) for v in tf.nest.flatten(fn())]
    out[row.name] = {
        "conv_fwd": timing.seconds_per_call(run(fwd), 1),
        "conv_fwd_bwd": timing.seconds_per_call(run(fwd_bwd), 1),
        "relu_bn_fwd_bwd": timing.seconds_per_call(run(bn_fwd_bwd), 1)}
  return out


def _profile_torch(batch_size):
  """Seconds per Table 1 conv row, PyTorch modules, NCHW."""
  import torch  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  torch.manual_seed(0)
  out = {}
  for row, (b, t, f, c) in _conv_shapes(batch_size):
    pad = torch.nn.ZeroPad2d(_same_pads(f, row.kernel[1], row.strides[1])
                             + _same_pads(t, row.kernel[0], row.strides[0]))
    conv = torch.nn.Conv2d(c, row.filters, row.kernel, row.strides)
    wrt_x = row.name != "conv1"
    x = torch.randn(b, c, t, f, requires_grad=wrt_x)
    with torch.no_grad():
      y0 = conv(pad(x))
    g = torch.randn_like(y0)
    y0.requires_grad_()
    bn = torch.nn.BatchNorm2d(row.filters)

    def fwd(conv=conv, pad=pad, x=x):
      with torch.no_grad():
        return float(conv(pad(x)).sum())

    def fwd_bwd(conv=conv, pad=pad, x=x, g=g):
      (conv(pad(x)) * g).sum().backward()

    def bn_fwd_bwd(bn=bn, y0=y0, g=g):
      (bn(torch.relu(y0)) * g).sum().backward()
    out[row.name] = {
        "conv_fwd": timing.seconds_per_call(fwd, 1),
        "conv_fwd_bwd": timing.seconds_per_call(fwd_bwd, 1),
        "relu_bn_fwd_bwd": timing.seconds_per_call(bn_fwd_bwd, 1)}
  return out


def measure_row(row):
  """Measures one row in this process and reports it (see timing.run_row)."""
  batch = FLAGS.batch_size
  if row == "profile_tf":
    timing.report_row({"layers": _profile_tf(batch)})
    return
  if row == "profile_torch":
    timing.report_row({"layers": _profile_torch(batch)})
    return
  if row == "tf_bare":
    step = workloads.tf_bare_step(batch)
  elif row == "torch_bare":
    step = torch_step_fn(batch)
  else:
    step = _trainer_step(row.split(":")[1], batch, FLAGS.strategy)
  timing.report_row(
      {"seconds": timing.seconds_per_call(step, FLAGS.steps)})


def _child(row):
  return timing.run_row(__file__, [
      f"--row={row}", f"--steps={FLAGS.steps}",
      f"--batch_size={FLAGS.batch_size}", f"--strategy={FLAGS.strategy}"])


def print_profile(profiles):
  """Per-layer table; ratios are PyTorch's time over TensorFlow's."""
  print(f"\nWhere a step's time goes: each Table 1 conv row alone, batch "
        f"{FLAGS.batch_size}, seconds (bwd = fwd+bwd - fwd)")
  frameworks = [name for name, p in profiles.items() if "layers" in p]
  header = f"{'row':7s} {'GFLOP':>7s}"
  for name in frameworks:
    short = "TF" if name == "TensorFlow" else "PT"
    header += f" {short + ' fwd':>8s} {short + ' bwd':>8s} {short + ' bn':>8s}"
  if len(frameworks) == 2:
    header += f" {'PT/TF':>6s}"
  print(header)
  totals = {name: [0.0, 0.0, 0.0] for name in frameworks}
  for row, shape in _conv_shapes(FLAGS.batch_size):
    b, t, f, c = shape
    out_t, out_f = -(-t // row.strides[0]), -(-f // row.strides[1])
    gflop = 2 * b * out_t * out_f * c * row.filters * 16 / 1e9
    line = f"{row.name:7s} {gflop:7.0f}"
    whole = {}
    for name in frameworks:
      r = profiles[name]["layers"][row.name]
      cols = (r["conv_fwd"], r["conv_fwd_bwd"] - r["conv_fwd"],
              r["relu_bn_fwd_bwd"])
      whole[name] = r["conv_fwd_bwd"] + r["relu_bn_fwd_bwd"]
      totals[name] = [a + b for a, b in zip(totals[name], cols)]
      line += "".join(f" {v:8.2f}" for v in cols)
    if len(frameworks) == 2:
      line += f" {whole['PyTorch'] / whole['TensorFlow']:5.2f}x"
    print(line)
  line = f"{'total':7s} {'':7s}"
  for name in frameworks:
    line += "".join(f" {v:8.2f}" for v in totals[name])
  if len(frameworks) == 2:
    line += f" {sum(totals['PyTorch']) / sum(totals['TensorFlow']):5.2f}x"
  print(line)
  for name, p in profiles.items():
    if "error" in p:
      print(f"{name} profile failed: {p['error']}")


def main(argv):
  del argv
  if FLAGS.row:
    measure_row(FLAGS.row)
    return
  names = {"tf_bare": "bare encoder step, TF (baseline)"}
  for variant in FLAGS.variants:
    if variant not in VARIANTS:
      raise app.UsageError(f"--variants: unknown {variant!r}; choose from "
                           f"{', '.join(VARIANTS)}")
    names[f"trainer:{variant}"] = f"TrainingLoop.train_step, {variant}"
  if FLAGS.vs_pytorch:
    names["torch_bare"] = "bare encoder step, PyTorch"
  results = {}
  for row, name in names.items():
    results[row] = _child(row)
    print(f"measured {name}: {results[row]}", flush=True)
  profiles = {}
  if FLAGS.profile:
    profiles["TensorFlow"] = _child("profile_tf")
    if FLAGS.vs_pytorch:
      profiles["PyTorch"] = _child("profile_torch")

  batch = FLAGS.batch_size
  flops = 3 * voice_encoder.forward_flops() * batch
  print(f"\nFull-size training step, batch {batch}, 6 s clips, strategy "
        f"{FLAGS.strategy}, {os.cpu_count()} CPU cores, one process per row")
  print(f"forward {voice_encoder.forward_flops() / 1e9:.0f} GFLOP/clip "
        "(paper's model, ~207); step FLOPs = 3 x forward x batch")
  print(f"{'variant':36s} {'s/step':>8s} {'examples/s':>11s} "
        f"{'GFLOP/s':>8s} {'vs baseline':>12s}")
  baseline = results["tf_bare"].get("seconds")
  for row, name in names.items():
    seconds = results[row].get("seconds")
    if seconds is None:
      print(f"{name:36s} failed: {results[row]['error']}")
      continue
    ratio = f"{baseline / seconds:11.2f}x" if baseline else f"{'-':>12s}"
    print(f"{name:36s} {seconds:8.2f} {batch / seconds:11.2f} "
          f"{flops / seconds / 1e9:8.1f} {ratio}")
  if profiles:
    print_profile(profiles)


if __name__ == "__main__":
  app.run(main)
