"""The real-pairs table's linear control: log-mel statistics and speaker-grouped ridge."""

import numpy as np
import tensorflow as tf

from experiments.evaluation import linear_control


def _tone(frequency, seconds=2.0, rate=16000, amplitude=0.5):
  t = np.arange(int(seconds * rate)) / rate
  return amplitude * np.sin(2 * np.pi * frequency * t)


class VoiceFeaturesTest(tf.test.TestCase):

  def test_a_steady_tone_peaks_in_its_band_and_does_not_vary(self):
    features = linear_control.voice_features(_tone(1000.0))
    mean, std = np.split(features, 2)
    self.assertLen(mean, linear_control.MEL_BANDS)
    # The band whose centre is nearest 1 kHz on the mel scale (HTK:
    # 2595 log10(1 + f / 700)), computed here, not read from the code.
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    centres = np.linspace(mel(0.0), mel(8000.0),
                          linear_control.MEL_BANDS + 2)[1:-1]
    self.assertLessEqual(abs(int(np.argmax(mean)) -
                             int(np.argmin(np.abs(centres - mel(1000.0))))),
                         1)
    # A steady tone: the loudest band hardly moves over time.
    self.assertLess(std[np.argmax(mean)], 0.05)

  def test_short_clips_are_repeated_to_six_seconds(self):
    # 1.5 s repeated four times is the 6 s clip itself: same statistics.
    rng = np.random.RandomState(0)
    short = rng.randn(24000) * 0.1
    self.assertAllClose(linear_control.voice_features(short),
                        linear_control.voice_features(np.tile(short, 4)))

  def test_a_louder_voice_raises_every_band_mean_by_log_gain(self):
    rng = np.random.RandomState(1)
    x = rng.randn(96000) * 0.05
    quiet = linear_control.voice_features(x)
    loud = linear_control.voice_features(4.0 * x)
    mean_q, std_q = np.split(quiet, 2)
    mean_l, std_l = np.split(loud, 2)
    self.assertAllClose(mean_l - mean_q, np.full(64, np.log(16.0)),
                        atol=1e-3)
    self.assertAllClose(std_l, std_q, atol=1e-3)


class RidgeTest(tf.test.TestCase):

  def test_small_alpha_is_least_squares(self):
    rng = np.random.RandomState(2)
    x = rng.randn(200, 5) * [1, 2, 3, 4, 5] + 3.0
    y = rng.randn(200, 3)
    model = linear_control.Ridge(1e-9).fit(x, y)
    design = np.hstack([x, np.ones((200, 1))])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    self.assertAllClose(model.predict(x), design @ coef, atol=1e-6)

  def test_cross_validation_shrinks_for_noise_and_not_for_signal(self):
    rng = np.random.RandomState(3)
    x = rng.randn(300, 20)
    speakers = [f"s{i // 3}" for i in range(300)]
    signal = x @ rng.randn(20, 4)
    alphas = (0.01, 1.0, 100.0, 1e5)
    self.assertEqual(linear_control.choose_alpha(x, signal, speakers, alphas),
                     0.01)
    noise = rng.randn(300, 4)
    self.assertEqual(linear_control.choose_alpha(x, noise, speakers, alphas),
                     1e5)

  def test_folds_keep_each_speaker_whole(self):
    speakers = ["b", "a", "b", "c", "a", "d", "e", "f"]
    fold = linear_control.speaker_folds(speakers, folds=3)
    for s in set(speakers):
      self.assertLen({fold[i] for i, x in enumerate(speakers) if x == s}, 1)
    self.assertLen(set(fold), 3)


if __name__ == "__main__":
  tf.test.main()
