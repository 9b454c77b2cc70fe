"""What the benchmarks time: random speech/face shards and the bare Table 1 step.

The bare step is the Table 1 encoder trained alone on constant tensors (L1
to a random target, Adam with the paper's beta1 and epsilon): the baseline
that pipeline, heads, XLA, bfloat16 and PyTorch are compared with.
"""

import numpy as np

from s2f_tf.models import voice_encoder
from tfrecords_schema import speech_face

FRAMES = 598  # 6 s at the STFT hop of 10 ms (Sec. 3.2).
SAMPLES = 96000  # 6 s at 16 kHz.


def write_random_shard(path, count):
  """`count` examples of 6 s noise and a random fc7 (speed only)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(0)
  with tf.io.TFRecordWriter(path) as writer:
    for i in range(count):
      writer.write(speech_face.encode(
          waveform=0.1 * rng.randn(SAMPLES), sample_rate=16000,
          fc7=np.maximum(rng.randn(speech_face.FC7_DIM), 0),
          clip_id=f"c{i}", speaker_id=f"s{i % 4}", face_jpeg=b""))
  return path


def tf_bare_step(batch_size, compiled=True):
  """A zero-argument bare Table 1 step in TensorFlow; returns the loss."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model = voice_encoder.build_voice_encoder()
  optimizer = keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-4)
  x = tf.constant(np.random.RandomState(1).randn(batch_size, FRAMES, 257, 2),
                  tf.float32)
  y = tf.constant(np.random.RandomState(2).randn(
      batch_size, voice_encoder.FEATURE_DIM), tf.float32)

  def step():
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.abs(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
  step = tf.function(step) if compiled else step
  return lambda: float(step())
