"""GE2E speaker encoder (Wan et al., ICASSP 2018) in Keras 3, ported from resemblyzer 0.1.4.

A pretrained voice backbone for s2f's `ge2e` encoder: the weights were
trained on thousands of speakers (resemblyzer's `pretrained.pt`, Apache-2.0;
converted once by `experiments/convert_ge2e_weights.py`, never at run time).

16 kHz waveform
  -> volume normalised to -30 dBFS (raised only, never lowered)
  -> 40-band mel power spectrogram (25 ms periodic Hann window, 10 ms hop,
     librosa's centred STFT and Slaney mel filters; not a log-mel)
  -> partial utterances of 160 frames (1.6 s) every 77 frames (resemblyzer's
     1.3 partials per second, ~50 % overlap); the last partial is kept when
     at least 75 % of it is covered by audio, the audio zero-padded to it
  -> 3 LSTM layers of 256 -> the last layer's final hidden state
  -> Linear 256 -> ReLU -> L2 norm per partial
  -> mean over the partials -> L2 norm: the 256-D d-vector.

Everything resemblyzer's `embed_utterance` does is here; its
`preprocess_wav` also trims long silences with WebRTC's VAD, which is not
ported (s2f's shards and clips are speech already; WORKSPACE.md).
"""

import hashlib
import os

import keras
from keras import layers
from keras import ops
import numpy as np

SAMPLE_RATE = 16_000  # resemblyzer hparams.sampling_rate.
WINDOW_SAMPLES = 400  # 25 ms mel window (hparams.mel_window_length).
HOP_SAMPLES = 160  # 10 ms mel step (hparams.mel_window_step).
NUM_MELS = 40  # hparams.mel_n_channels (Wan et al.: 40-D log-mel; here mel).
PARTIAL_FRAMES = 160  # 1.6 s partial utterances (hparams.partials_n_frames).
PARTIALS_PER_SECOND = 1.3  # embed_utterance's default rate.
# round((16000 / 1.3) / 160) = 77 frames between partials.
PARTIAL_STEP = int(np.round(SAMPLE_RATE / PARTIALS_PER_SECOND / HOP_SAMPLES))
MIN_COVERAGE = 0.75  # embed_utterance's default min_coverage.
TARGET_DBFS = -30.0  # hparams.audio_norm_target_dBFS (increase only).
INT16_MAX = 2 ** 15 - 1
LSTM_UNITS = 256  # hparams.model_hidden_size (Wan et al.: 3 x 768 -> 256).
LSTM_LAYERS = 3  # hparams.model_num_layers.
EMBEDDING_DIM = 256  # hparams.model_embedding_size.

WEIGHTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "weights", "ge2e_resemblyzer.npz")
# sha256 of WEIGHTS_FILE as written by experiments/convert_ge2e_weights.py.
WEIGHTS_SHA256 = ("d56a0949d1b849d8bb8b8372416e5bc9"
                  "c75a215e9a2c0af81d487e506c10f9be")
GET_WEIGHTS = ("run `python -m experiments.convert_ge2e_weights` (needs "
               "torch and the resemblyzer 0.1.4 wheel, once) or reinstall s2f")


# Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz
# (200/3 Hz a mel), logarithmic above (27 steps per factor 6.4).
_HZ_PER_MEL = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
  """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
  hz = np.asarray(hz, np.float64)
  return np.where(hz >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(
      np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOG_STEP, hz / _HZ_PER_MEL)


def mel_to_hz(mel):
  """Inverse of `hz_to_mel`."""
  mel = np.asarray(mel, np.float64)
  return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(
      _LOG_STEP * (mel - _MIN_LOG_MEL)), mel * _HZ_PER_MEL)


def mel_filterbank(sample_rate=SAMPLE_RATE, n_fft=WINDOW_SAMPLES,
                   num_mels=NUM_MELS):
  """(n_fft // 2 + 1, num_mels) triangular Slaney filters with Slaney area
  normalisation, 0 Hz to Nyquist (librosa.filters.mel's defaults)."""
  fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
  edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2),
                                num_mels + 2))
  widths = np.diff(edges)
  ramps = edges[:, None] - fft_hz[None, :]
  lower = -ramps[:-2] / widths[:-1, None]
  upper = ramps[2:] / widths[1:, None]
  weights = np.maximum(0.0, np.minimum(lower, upper))
  weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
  return weights.T.astype(np.float32)


def dft_kernel(n_fft=WINDOW_SAMPLES):
  """(n_fft, 1, 2 * (n_fft // 2 + 1)) conv kernel: a periodic-Hann-windowed
  DFT, real parts then imaginary parts, so a strided 1-D convolution of the
  waveform is the STFT."""
  n = np.arange(n_fft)
  window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
  k = np.arange(n_fft // 2 + 1)
  angle = 2 * np.pi * np.outer(n, k) / n_fft
  kernel = np.concatenate([window[:, None] * np.cos(angle),
                           -window[:, None] * np.sin(angle)], axis=1)
  return kernel[:, None, :].astype(np.float32)


def partial_count(num_samples):
  """How many partial utterances a `num_samples` clip has (resemblyzer's
  `compute_partial_slices`: starts every PARTIAL_STEP frames while a
  partial can begin, the last dropped when under MIN_COVERAGE of it is
  audio, at least one); works on Python ints and on tensors. Partial i
  starts at frame i * PARTIAL_STEP."""
  frames = (num_samples + HOP_SAMPLES) // HOP_SAMPLES  # ceil((n + 1) / 160)
  steps = ops.maximum(1, frames - PARTIAL_FRAMES + PARTIAL_STEP + 1)
  count = (steps + PARTIAL_STEP - 1) // PARTIAL_STEP
  last_start = (count - 1) * PARTIAL_STEP * HOP_SAMPLES
  coverage = ops.cast(num_samples - last_start, "float32") / float(
      PARTIAL_FRAMES * HOP_SAMPLES)
  return ops.where((coverage < MIN_COVERAGE) & (count > 1), count - 1, count)


# Zeros appended to every clip: enough for its last partial (at most one
# partial step plus one frame past the audio), so padding never depends on
# the clip's length.
_TAIL_PADDING = (PARTIAL_STEP + 2) * HOP_SAMPLES


@keras.saving.register_keras_serializable(package="s2f")
class Ge2eDvector(layers.Layer):
  """(batch, samples) 16 kHz waveform -> (batch, 256) GE2E d-vector.

  Any clip of >= 1 sample (all clips of one batch share a length). The
  weights are `WEIGHTS_FILE`'s after `load_resemblyzer_weights`.
  """

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # One attribute each: TensorFlow checkpoints do not see layers held in
    # a list, so a fine-tuned backbone would not be saved.
    for i in range(LSTM_LAYERS):
      setattr(self, f"lstm{i}", layers.LSTM(
          LSTM_UNITS, return_sequences=i < LSTM_LAYERS - 1, name=f"lstm{i}"))
    self.linear = layers.Dense(EMBEDDING_DIM, name="linear")

  @property
  def lstms(self):
    return [getattr(self, f"lstm{i}") for i in range(LSTM_LAYERS)]

  def build(self, input_shape):
    shape = (None, PARTIAL_FRAMES, NUM_MELS)
    for lstm in self.lstms:
      lstm.build(shape)
      shape = (None, PARTIAL_FRAMES, LSTM_UNITS)
    self.linear.build((None, LSTM_UNITS))
    self.built = True

  def mel(self, waveform):
    """(batch, samples) -> (batch, frames, 40) mel power of the volume-
    normalised, zero-padded clip (frame j centred on sample 160 j)."""
    waveform = ops.cast(waveform, "float32")
    rms = ops.sqrt(ops.mean(ops.square(waveform * INT16_MAX), axis=1,
                            keepdims=True))
    change_db = TARGET_DBFS - 20.0 * ops.log10(
        ops.maximum(rms, 1e-10) / INT16_MAX)
    gain = ops.where(change_db > 0, ops.power(10.0, change_db / 20.0), 1.0)
    padded = ops.pad(waveform * gain,
                     [[0, 0], [WINDOW_SAMPLES // 2,
                               WINDOW_SAMPLES // 2 + _TAIL_PADDING]])
    spectrum = ops.conv(padded[..., None], ops.convert_to_tensor(
        dft_kernel()), strides=HOP_SAMPLES, padding="valid")
    bins = WINDOW_SAMPLES // 2 + 1
    power = ops.square(spectrum[..., :bins]) + ops.square(spectrum[..., bins:])
    return ops.matmul(power, ops.convert_to_tensor(mel_filterbank()))

  def partial_embeddings(self, mels):
    """(n, 160, 40) partial mel spectrograms -> (n, 256) unit d-vectors."""
    x = mels
    for lstm in self.lstms:
      x = lstm(x)
    x = ops.relu(self.linear(x))
    return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))

  def call(self, waveform):
    count = partial_count(ops.shape(waveform)[1])
    index = (ops.arange(count)[:, None] * PARTIAL_STEP +
             ops.arange(PARTIAL_FRAMES)[None, :])  # (count, 160)
    mels = ops.take(self.mel(waveform), index, axis=1)  # (B, count, 160, 40)
    batch = ops.shape(mels)[0]
    partial = self.partial_embeddings(
        ops.reshape(mels, (-1, PARTIAL_FRAMES, NUM_MELS)))
    mean = ops.mean(ops.reshape(partial, (batch, -1, EMBEDDING_DIM)), axis=1)
    return mean / ops.sqrt(ops.sum(ops.square(mean), axis=-1, keepdims=True))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], EMBEDDING_DIM)


def file_sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def load_resemblyzer_weights(layer, path=WEIGHTS_FILE):
  """Sets a built `Ge2eDvector`'s weights from the converted npz (torch's
  names and layouts: LSTM gates i, f, g, o as in Keras; the two torch biases
  summed; kernels transposed)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"GE2E weights {path} are missing: {GET_WEIGHTS}")
  with np.load(path) as npz:
    w = {k: npz[k] for k in npz.files}
  if not layer.built:
    layer.build((None, None))
  for i, lstm in enumerate(layer.lstms):
    lstm.set_weights([w[f"lstm.weight_ih_l{i}"].T, w[f"lstm.weight_hh_l{i}"].T,
                      w[f"lstm.bias_ih_l{i}"] + w[f"lstm.bias_hh_l{i}"]])
  layer.linear.set_weights([w["linear.weight"].T, w["linear.bias"]])
  return layer


def pretrained(name="ge2e"):
  """A `Ge2eDvector` with resemblyzer's pretrained weights."""
  return load_resemblyzer_weights(Ge2eDvector(name=name))
