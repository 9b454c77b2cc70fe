"""Tests for the voice encoder: Table 1 shapes and a hand parameter count."""

import numpy as np
import tensorflow as tf

from s2f_tf.models import voice_encoder


def conv(k, cin, cout):
  return k * k * cin * cout + cout


BN = lambda c: 4 * c  # gamma, beta, moving mean, moving variance


# Table 1 by hand. Frequency after two stride-2 "same" convs: 257 -> 129 -> 65,
# so the flattened time-average has 65 * 512 = 33,280 values.
HAND_CONV = (conv(4, 2, 64) + conv(4, 64, 64) + conv(4, 64, 128) +
             conv(4, 128, 128) + conv(4, 128, 128) + conv(4, 128, 256) +
             conv(4, 256, 512) + conv(4, 512, 512) + conv(4, 512, 512))
HAND_BN = BN(64) + BN(64) + BN(128) + BN(128) + BN(128) + BN(256) + BN(512) \
    + BN(512) + BN(512)  # the last one after the time average
HAND_FC = (65 * 512 * 4096 + 4096) + (4096 * 4096 + 4096)


def _train_fc1_alive(zero_init_output, steps=200, seed=0):
  """fc1 ReLUs of the tiny encoder still active on some input after `steps`
  of L1 regression onto targets at dlib128's scale (per-dimension mean
  ~0.1, spread 0.05) from a 2-D signal in the input."""
  import keras  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(seed)
  mean = rng.randn(128).astype(np.float32) * 0.1
  proj = rng.randn(2, 128).astype(np.float32) * 0.05

  def batch(n=8):
    z = rng.randn(n, 2).astype(np.float32)
    x = rng.randn(n, 32, 17, 2).astype(np.float32) * 0.3 + z[:, None, None]
    return x, mean + z @ proj

  keras.utils.set_random_seed(seed)
  model = voice_encoder.build_voice_encoder(
      voice_encoder.TINY_SPEC, num_freq_bins=17, feature_dim=128,
      zero_init_output=zero_init_output)
  opt = keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-4)  # Sec. 4

  @tf.function
  def step(x, y):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.reduce_sum(tf.abs(model(x, training=True) - y),
                                          -1))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))

  for _ in range(steps):
    step(*batch())
  fc1 = keras.Model(model.inputs, model.get_layer("fc1").output)
  active = fc1(batch(64)[0], training=False).numpy()
  return int(np.sum(active.max(0) > 0))


class OutputInitTest(tf.test.TestCase):

  def test_zero_init_output_predicts_zero_untrained(self):
    model = voice_encoder.build_voice_encoder(
        voice_encoder.TINY_SPEC, feature_dim=128, zero_init_output=True)
    x = np.random.RandomState(0).randn(8, 40, 257, 2).astype(np.float32)
    self.assertAllEqual(model(x, training=True), np.zeros((8, 128)))
    # Keras' default: in training mode (batch statistics) the outputs spread
    # over clips ~10x more than dlib128's features do (std 0.05 per
    # dimension on the training faces of the paper's pairs).
    default = voice_encoder.build_voice_encoder(voice_encoder.TINY_SPEC,
                                                feature_dim=128)
    spread = np.std(default(x, training=True).numpy(), axis=0).mean()
    self.assertGreater(float(spread), 0.25)

  def test_zero_init_keeps_fc1_alive_against_small_targets(self):
    # Keras' default last layer starts ~10x wider than dlib128's features;
    # shrinking it silences fc1's ReLUs for good (the tiny encoder of the
    # real-pairs demo kept 1 of 64). Starting at 0 keeps nearly all.
    self.assertLess(_train_fc1_alive(False), 40)
    self.assertGreater(_train_fc1_alive(True), 56)


class VoiceEncoderTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = voice_encoder.build_voice_encoder()

  def test_parameter_count_equals_hand_count(self):
    self.assertEqual(HAND_CONV, 11_735_296)
    self.assertEqual(HAND_BN, 9_216)
    self.assertEqual(HAND_FC, 153_100_288)
    self.assertEqual(self.model.count_params(),
                     HAND_CONV + HAND_BN + HAND_FC)  # 164,844,800

  def test_output_is_4096_for_6s_and_3s(self):
    for frames in (598, 298):
      x = np.random.RandomState(frames).randn(1, frames, 257, 2)
      out = self.model(x.astype(np.float32), training=False)
      self.assertEqual(tuple(out.shape), (1, 4096))
      self.assertTrue(np.all(np.isfinite(out)))

  def test_time_average_reaches_65_by_512(self):
    layer = self.model.get_layer("conv9")
    self.assertEqual(tuple(layer.output.shape[2:]), (65, 512))
    self.assertEqual(self.model.get_layer("flatten").output.shape[-1], 33280)

  def test_forward_flops_hand_count(self):
    # (time, freq) after each conv of a 598 x 257 input, then 2*16*Cin*Cout.
    convs = [(598, 257, 2, 64), (598, 257, 64, 64), (598, 257, 64, 128),
             (299, 257, 128, 128), (149, 257, 128, 128), (74, 257, 128, 256),
             (37, 257, 256, 512), (19, 129, 512, 512), (10, 65, 512, 512)]
    hand = sum(2 * 16 * t * f * cin * cout for t, f, cin, cout in convs)
    hand += 2 * (33280 * 4096 + 4096 * 4096)
    self.assertEqual(voice_encoder.forward_flops(), hand)
    self.assertBetween(hand / 1e9, 200, 215)  # the issue's ~207 GFLOP

  def test_no_batch_norm_ablation(self):
    model = voice_encoder.build_voice_encoder(use_batch_norm=False)
    self.assertEqual(model.count_params(), HAND_CONV + HAND_FC)
    names = [l.name for l in model.layers]
    self.assertFalse([n for n in names if n.endswith("_bn")])

  def test_time_average_is_a_mean(self):
    x = np.arange(24, dtype=np.float32).reshape(1, 3, 4, 2)
    out = voice_encoder.TimeAveragePool()(x)
    self.assertAllClose(out, x.mean(axis=1))

  def test_small_spec_variable_length(self):
    spec = (
        voice_encoder.Row("conv1", "conv_relu_bn", 4, (4, 4), (1, 1)),
        voice_encoder.Row("pool1", "pool_time", None, (2, 1), (2, 1)),
        voice_encoder.Row("conv2", "conv", 4, (4, 4), (2, 2)),
        voice_encoder.Row("avgpool", "avgpool_time_relu_bn", None, None,
                          None),
        voice_encoder.Row("fc1", "fc", 8, None, None),
    )
    model = voice_encoder.build_voice_encoder(spec, num_freq_bins=9)
    # conv(4,2,4)=132 + BN 16 + conv(4,4,4)=260 + BN 16 + fc 5*4*8+8=168.
    self.assertEqual(model.count_params(), 132 + 16 + 260 + 16 + 168)
    for frames in (10, 37):
      self.assertEqual(model(np.ones((2, frames, 9, 2), "float32")).shape,
                       (2, 8))


if __name__ == "__main__":
  tf.test.main()
