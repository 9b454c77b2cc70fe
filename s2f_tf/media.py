"""Media files: ffmpeg decoding of audio and video frames, images, the extension table.

Audio: any audio or video file to a 16 kHz mono float32 waveform. One
decoder for every container (WAV, MP3, FLAC, MP4, MPG, MKV, ...): ffmpeg,
run as a subprocess that writes raw 16-bit PCM to a pipe. ffmpeg also does the
resampling and the down-mix to mono, so the rest of s2f only ever sees 16 kHz
mono audio. Every failure is raised as a `MediaError` subclass whose `reason`
is a short stable string used by the shard job to count skips.
Video: a file's duration and streams (ffprobe) and one RGB frame at a given
time. `MEDIA_EXTENSIONS` is the one list of files s2f treats as media, for
every job that scans a folder.
"""

import json
import os
import shutil
import subprocess

import cv2
import numpy as np

from s2f_tf.audio import audio_format


# Below this RMS level (dBFS) a clip is treated as silence. -60 dBFS is about
# 30 LSB of 16-bit audio: microphone hiss, no speech. Not in the paper.
SILENCE_RMS_DBFS = -60.0
# Clips shorter than this are rejected at inference (Sec. 4 repeats short clips,
# but below ~1 s there is too little speech for a face; see WORKSPACE.md).
MIN_INFERENCE_SECONDS = 1.0
# What a folder scan treats as media (ffmpeg reads them all) and as photos.
AUDIO_EXTENSIONS = (".wav", ".flac", ".m4a", ".mp3", ".ogg", ".opus")
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg",
                    ".m4v")
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


class MediaError(ValueError):
  """A media file that cannot give usable speech; `reason` names why."""

  reason = "media_error"


class UnreadableMediaError(MediaError):
  reason = "unreadable_media"


class NoAudioError(MediaError):
  reason = "no_audio"


class TooShortError(MediaError):
  reason = "too_short"


class SilenceError(MediaError):
  reason = "silence"


def _ffmpeg_binary():
  path = shutil.which("ffmpeg")
  if path is None:
    raise RuntimeError(
        "ffmpeg is not installed: s2f decodes media with it. "
        "Install it with `apt-get install ffmpeg` (Debian/Ubuntu) or "
        "`brew install ffmpeg`.")
  return path


def _audio_stream_state(path):
  """'audio', 'no_audio' or 'unreadable', as ffprobe sees `path`."""
  ffprobe = shutil.which("ffprobe")
  if ffprobe is None:
    return "unreadable"
  result = subprocess.run(
      [ffprobe, "-v", "error", "-select_streams", "a", "-show_entries",
       "stream=index", "-of", "csv=p=0", path],
      capture_output=True, text=True, check=False)
  if result.returncode != 0:
    return "unreadable"
  return "audio" if result.stdout.strip() else "no_audio"


def load_audio(path, sample_rate=audio_format.SAMPLE_RATE, start_s=0.0,
               duration_s=None):
  """Decodes `path` to mono float32 samples in [-1, 1] at `sample_rate` Hz.

  Args:
    path: any file ffmpeg can read (audio or video).
    sample_rate: output rate in Hz; 16 kHz is the paper's (Sec. 4).
    start_s: where to start reading, in seconds (AVSpeech segment start).
    duration_s: how many seconds to read; None reads to the end.

  Returns:
    A 1-D float32 numpy array.

  Raises:
    UnreadableMediaError: missing, empty, or corrupt file.
    NoAudioError: the file decodes but holds no audio stream.
  """
  if not os.path.isfile(path):
    raise UnreadableMediaError(f"{path}: no such file")
  if os.path.getsize(path) == 0:
    raise UnreadableMediaError(f"{path}: file is empty (0 bytes)")
  command = [_ffmpeg_binary(), "-nostdin", "-v", "error"]
  if start_s:
    command += ["-ss", f"{start_s:.3f}"]
  command += ["-i", path]
  if duration_s is not None:
    command += ["-t", f"{duration_s:.3f}"]
  command += ["-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "s16le",
              "-acodec", "pcm_s16le", "pipe:1"]
  result = subprocess.run(command, capture_output=True, check=False)
  if result.returncode != 0:
    message = result.stderr.decode("utf-8", "replace").strip()
    if _audio_stream_state(path) == "no_audio":
      raise NoAudioError(f"{path}: no audio stream")
    raise UnreadableMediaError(
        f"{path}: ffmpeg could not decode it: {message[-300:]}")
  if not result.stdout:
    if _audio_stream_state(path) == "no_audio":
      raise NoAudioError(f"{path}: no audio stream")
    raise UnreadableMediaError(f"{path}: decoded to zero samples")
  samples = np.frombuffer(result.stdout, dtype="<i2")
  return samples.astype(np.float32) / 32768.0


def rms_dbfs(waveform):
  """Root-mean-square level of a [-1, 1] waveform in dB full scale."""
  rms = float(np.sqrt(np.mean(np.square(waveform, dtype=np.float64))))
  return 20.0 * np.log10(max(rms, 1e-10))


def check_speech(waveform, path="<waveform>",
                 sample_rate=audio_format.SAMPLE_RATE,
                 min_seconds=MIN_INFERENCE_SECONDS,
                 silence_rms_dbfs=SILENCE_RMS_DBFS):
  """Raises TooShortError or SilenceError unless `waveform` can be used."""
  seconds = len(waveform) / float(sample_rate)
  if seconds < min_seconds:
    raise TooShortError(
        f"{path}: {seconds:.2f} s of audio, at least {min_seconds:.2f} s "
        "is needed")
  level = rms_dbfs(waveform)
  if level < silence_rms_dbfs:
    raise SilenceError(
        f"{path}: audio is silent ({level:.1f} dBFS RMS, threshold "
        f"{silence_rms_dbfs:.1f} dBFS)")
  return waveform


def load_speech(path, min_seconds=MIN_INFERENCE_SECONDS, **kwargs):
  """`load_audio` followed by `check_speech`: the inference entry point."""
  waveform = load_audio(path, **kwargs)
  return check_speech(waveform, path=path, min_seconds=min_seconds)


def _ffprobe():
  path = shutil.which("ffprobe")
  if path is None:
    raise RuntimeError("ffprobe is not installed; `apt-get install ffmpeg`")
  return path


def probe(path):
  """(duration in s or None, has_video, has_audio) of a media file."""
  result = subprocess.run(
      [_ffprobe(), "-v", "error", "-show_entries",
       "format=duration:stream=codec_type", "-of", "json", path],
      capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise UnreadableMediaError(
        f"{path}: ffprobe could not read it: {result.stderr.strip()[-300:]}")
  info = json.loads(result.stdout or "{}")
  kinds = {s.get("codec_type") for s in info.get("streams", [])}
  duration = info.get("format", {}).get("duration")
  return (float(duration) if duration not in (None, "N/A") else None,
          "video" in kinds, "audio" in kinds)


def read_frame(path, time_s):
  """The RGB frame (h, w, 3) uint8 of `path` at `time_s` seconds."""
  command = [_ffmpeg_binary(), "-nostdin", "-v", "error", "-ss", f"{max(time_s, 0):.3f}",
             "-i", path, "-frames:v", "1", "-f", "image2pipe", "-vcodec",
             "png", "pipe:1"]
  result = subprocess.run(command, capture_output=True, check=False)
  if result.returncode != 0 or not result.stdout:
    raise UnreadableMediaError(
        f"{path}: no video frame at {time_s:.2f} s: "
        f"{result.stderr.decode('utf-8', 'replace').strip()[-300:]}")
  bgr = cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_COLOR)
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path):
  """An image file as RGB uint8, or UnreadableMediaError."""
  bgr = cv2.imread(path, cv2.IMREAD_COLOR)
  if bgr is None:
    raise UnreadableMediaError(f"{path}: not a readable image")
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
