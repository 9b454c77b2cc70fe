"""The linear control of the real-pairs table: ridge from log-mel statistics to the face feature.

What a linear model learns from the same training voices (SPEC, "What a
linear model learns"): each voice's first 6 s (repeated if shorter, as the
encoder's input) becomes the mean and standard deviation over time of its
64-band log-mel spectrum (the paper's STFT: 25 ms Hann, 10 ms hop, 512
points); a ridge regression maps those 128 numbers to the face teacher's
feature of the true face. Its ridge strength is chosen by speaker-grouped
cross-validation on the training speakers only. The real-pairs table
decodes its predictions with s2f's own decoder and judges them like every
other row, so a trained voice encoder has a floor to beat.
"""

import numpy as np
import tensorflow as tf

from s2f_tf.audio import audio_format
from s2f_tf.audio import spectrogram

MEL_BANDS = 64  # SPEC: 64-band log-mel mean + std.
LOG_FLOOR = 1e-6  # Added to the mel power before the log (silence).
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)  # Ridge strengths tried.
FOLDS = 5  # Speaker-grouped folds for choosing the ridge strength.


def voice_features(waveform, seconds=audio_format.CLIP_SECONDS):
  """(128,) float64: mean and std over time of the 64-band log-mel power
  of the first `seconds` of a 16 kHz waveform (repeated if shorter)."""
  clip = spectrogram.repeat_to_length(
      np.asarray(waveform, np.float32), spectrogram.num_samples(seconds))
  real, imag = spectrogram.complex_stft(clip)
  power = np.square(np.asarray(real, np.float64)) + np.square(
      np.asarray(imag, np.float64))  # (frames, 257)
  mel = power @ _mel_matrix()
  log_mel = np.log(mel + LOG_FLOOR)
  return np.concatenate([log_mel.mean(0), log_mel.std(0)])


def _mel_matrix():
  return tf.signal.linear_to_mel_weight_matrix(
      MEL_BANDS, spectrogram.NUM_FREQ_BINS, audio_format.SAMPLE_RATE, 0.0,
      audio_format.SAMPLE_RATE / 2).numpy().astype(np.float64)


class Ridge:
  """Standardized inputs, centred targets, closed-form ridge."""

  def __init__(self, alpha):
    self.alpha = alpha

  def fit(self, x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    self.x_mean, self.x_std = x.mean(0), x.std(0) + 1e-12
    self.y_mean = y.mean(0)
    z = (x - self.x_mean) / self.x_std
    self.weights = np.linalg.solve(
        z.T @ z + self.alpha * np.eye(z.shape[1]), z.T @ (y - self.y_mean))
    return self

  def predict(self, x):
    z = (np.asarray(x, np.float64) - self.x_mean) / self.x_std
    return z @ self.weights + self.y_mean


def speaker_folds(speakers, folds=FOLDS):
  """Fold index per clip: all clips of a speaker in one fold (by the
  speaker's rank in sorted order, so it is deterministic)."""
  unique = sorted(set(speakers))
  fold_of = {s: i % folds for i, s in enumerate(unique)}
  return np.asarray([fold_of[s] for s in speakers])


def choose_alpha(x, y, speakers, alphas=ALPHAS, folds=FOLDS):
  """The ridge strength of least held-out squared error over
  speaker-grouped folds of the training clips."""
  fold = speaker_folds(speakers, folds)
  errors = []
  for alpha in alphas:
    error = 0.0
    for k in range(folds):
      held = fold == k
      model = Ridge(alpha).fit(x[~held], y[~held])
      error += np.sum(np.square(model.predict(x[held]) - y[held]))
    errors.append(error)
  return alphas[int(np.argmin(errors))]


def fit(voices, targets, speakers):
  """The control trained on the training speakers' `voice_features` (n, 128)
  and teacher features: a fitted `Ridge`, its strength chosen by
  `choose_alpha`."""
  x = np.asarray(voices, np.float64)
  y = np.asarray(targets, np.float64)
  return Ridge(choose_alpha(x, y, list(speakers))).fit(x, y)
