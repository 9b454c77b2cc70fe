"""Tests for media decoding: rates, containers and every bad-input reason."""

import os
import subprocess
import wave

import numpy as np
import tensorflow as tf

from s2f_tf import media
from tests import shared_data


def write_wav(path, samples, rate, channels=1):
  pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
  with wave.open(path, "wb") as w:
    w.setnchannels(channels)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(pcm.tobytes())


def dominant_hz(x, rate):
  spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
  return np.argmax(spectrum) * rate / len(x)


class MediaTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path

  def test_8khz_wav_resampled_to_16khz_keeps_pitch(self):
    path = os.path.join(self.dir, "tone.wav")
    t = np.arange(16000) / 8000.0  # 2 s at 8 kHz
    write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    x = media.load_audio(path)
    self.assertEqual(x.dtype, np.float32)
    self.assertAllClose(len(x), 32000, atol=16)
    self.assertAllClose(dominant_hz(x, 16000), 440.0, atol=2.0)
    self.assertAllClose(np.max(np.abs(x)), 0.5, atol=0.02)

  def test_stereo_44k_mixed_to_mono(self):
    path = os.path.join(self.dir, "stereo.wav")
    t = np.arange(44100) / 44100.0
    left = 0.4 * np.sin(2 * np.pi * 300 * t)
    stereo = np.stack([left, left], axis=1).reshape(-1)
    write_wav(path, stereo, 44100, channels=2)
    x = media.load_audio(path)
    self.assertAllClose(len(x), 16000, atol=16)
    self.assertAllClose(dominant_hz(x, 16000), 300.0, atol=2.0)

  def test_real_fsdd_recording(self):
    path = os.path.join(shared_data.require(shared_data.FSDD_DIR),
                        "0_jackson_0.wav")
    with wave.open(path) as w:
      native = w.getnframes() / w.getframerate()
    x = media.load_audio(path)
    self.assertAllClose(len(x) / 16000.0, native, atol=0.01)
    self.assertGreater(media.rms_dbfs(x), media.SILENCE_RMS_DBFS)

  def test_ffmpeg_resampling_agrees_with_tensorflow_io(self):
    import tensorflow_io as tfio  # pylint: disable=g-import-not-at-top
    path = os.path.join(shared_data.require(shared_data.FSDD_DIR),
                        "3_theo_7.wav")
    with wave.open(path) as w:
      native = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0
      rate = w.getframerate()
    self.assertEqual(rate, 8000)
    reference = tfio.audio.resample(
        tf.constant(native[:, None], tf.float32), rate_in=8000,
        rate_out=16000).numpy()[:, 0]
    ours = media.load_audio(path)
    self.assertAllClose(len(ours), len(reference), atol=8)
    n = min(len(ours), len(reference))

    def aligned(lag):
      return (ours[max(0, lag):n + min(0, lag)],
              reference[max(0, -lag):n - max(0, lag)])

    # tensorflow-io's filter delays its output (64 samples here); align first.
    lag = max(range(-160, 161), key=lambda l: np.dot(*aligned(l)))
    self.assertLessEqual(abs(lag), 160)  # < 10 ms
    self.assertGreater(np.corrcoef(*aligned(lag))[0, 1], 0.999)

  def test_video_segment(self):
    path = os.path.join(shared_data.require(shared_data.GRID_DIR),
                        "bbaf2n.mpg")
    x = media.load_audio(path, start_s=0.5, duration_s=1.0)
    self.assertAllClose(len(x), 16000, atol=400)

  def test_bad_inputs_raise_with_reasons(self):
    missing = os.path.join(self.dir, "missing.wav")
    empty = os.path.join(self.dir, "empty.mp4")
    open(empty, "wb").close()
    corrupt = os.path.join(self.dir, "corrupt.mp3")
    with open(corrupt, "wb") as f:
      f.write(np.random.RandomState(0).bytes(5000))
    for path in (missing, empty, corrupt):
      with self.assertRaises(media.UnreadableMediaError) as ctx:
        media.load_audio(path)
      self.assertEqual(ctx.exception.reason, "unreadable_media")
      self.assertIn(path, str(ctx.exception))

  def test_video_without_audio(self):
    path = os.path.join(self.dir, "silent_video.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=duration=1:size=64x64:rate=10", "-pix_fmt",
                    "yuv420p", path], check=True)
    with self.assertRaises(media.NoAudioError):
      media.load_audio(path)

  def test_silence_and_too_short(self):
    silent = os.path.join(self.dir, "silent.wav")
    write_wav(silent, np.zeros(32000), 16000)
    with self.assertRaises(media.SilenceError):
      media.load_speech(silent)
    short = os.path.join(self.dir, "short.wav")
    write_wav(short, 0.3 * np.ones(4000), 16000)
    with self.assertRaises(media.TooShortError):
      media.load_speech(short)

  def test_rms_dbfs_hand_value(self):
    # A full-scale square wave has RMS 1 -> 0 dBFS; 0.1 -> -20 dBFS.
    self.assertAllClose(media.rms_dbfs(np.full(100, 0.1)), -20.0)


if __name__ == "__main__":
  tf.test.main()
