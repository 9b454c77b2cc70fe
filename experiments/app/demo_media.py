"""Demo media: real talking-face clips, and artificial voice/face pairings.

Real pairs: the GRID clips (a speaker's own face and voice; from --data_dir,
else s2f's embedded copy). Artificial pairs (documented as such): each Free
Spoken Digit speaker's recordings concatenated into multi-second utterances
and paired with one fixed face photo per speaker of the same gender
(VoxCeleb-style folders of WAVs and a face image).
"""

import glob
import os
import subprocess
import wave

import cv2
import numpy as np

from s2f_tf import media

# FSDD speaker -> face photo of ../shared/data/faces (fixed, artificial map).
# All six FSDD speakers are men (speakers.json): six photos of six different
# men of faces/ (gender.csv; different identities by master.csv's "No" pairs
# and dlib's recognizer).
FSDD_FACE_OF = {"george": "img13.jpg", "jackson": "img16.jpg",
                "lucas": "img18.jpg", "nicolas": "img20.jpg",
                "theo": "img24.jpg", "yweweler": "img29.jpg"}


def still_video(path, rgb, audio_path=None, seconds=None, silent_audio=False):
  """An H.264/AAC MP4 showing `rgb` over `audio_path` (or silence / none)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  image = path + ".png"
  cv2.imwrite(image, cv2.cvtColor(np.asarray(rgb, np.uint8),
                                  cv2.COLOR_RGB2BGR))
  command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-loop", "1",
             "-framerate", "10", "-i", image]
  if audio_path:
    command += ["-i", audio_path]
  elif silent_audio:
    command += ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"]
  if audio_path and not seconds:
    # -shortest alone overshoots by seconds with a looped still image.
    seconds = media.probe(audio_path)[0]
  if seconds:
    command += ["-t", f"{seconds:.3f}"]
  command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-vf",
              "scale=trunc(iw/2)*2:trunc(ih/2)*2"]
  if audio_path or silent_audio:
    command += ["-c:a", "aac", "-shortest"]
  subprocess.run(command + [path], check=True, capture_output=True)
  os.remove(image)
  return path


def speech_wav(path, voice="en", text=None, speed=140):
  """espeak-ng speech to a WAV file."""
  text = text or ("The quick brown fox jumps over the lazy dog while the "
                  "speaker keeps talking clearly for several seconds.")
  subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path,
                  text], check=True, capture_output=True)
  return path


def _concatenate_wavs(paths, out_path, seconds):
  frames, rate = [], None
  for path in paths:
    with wave.open(path) as w:
      rate = w.getframerate()
      frames.append(w.readframes(w.getnframes()))
      if sum(len(f) for f in frames) / 2 / rate >= seconds:
        break
  with wave.open(out_path, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(b"".join(frames))
  return out_path


def grid_clips(data_dir, out_dir):
  """Links every GRID clip as out_dir/<speaker>/clip.mpg; returns the count."""
  clips = sorted(glob.glob(os.path.join(data_dir, "grid_av", "*.mpg")))
  for clip in clips:
    speaker = os.path.splitext(os.path.basename(clip))[0]
    target = os.path.join(out_dir, f"grid_{speaker}", "clip.mpg")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.exists(target):
      os.symlink(os.path.abspath(clip), target)
  return len(clips)


def fsdd_utterances(data_dir, voices_root, faces_root, utterances=20,
                    seconds=3.0):
  """Artificial pairs for the learning experiment, VoxCeleb-style.

  Writes voices_root/fsdd_<speaker>/utts/<i>.wav: `utterances` utterances of
  each FSDD speaker, each ~`seconds` of that speaker's digits concatenated
  from recordings no other utterance uses; and
  faces_root/fsdd_<speaker>/utts/face.jpg: the speaker's fixed photo
  (FSDD_FACE_OF; the pairing is artificial). Returns the number written.
  """
  made = 0
  for speaker, photo in FSDD_FACE_OF.items():
    recordings = sorted(glob.glob(os.path.join(
        data_dir, "speech_fsdd", "recordings", f"*_{speaker}_*.wav")))
    face_path = os.path.join(data_dir, "faces", photo)
    if not recordings or not os.path.exists(face_path):
      continue
    # Interleave digits so every utterance mixes them: 0_x_0, 1_x_0, ...
    recordings.sort(key=lambda p: (int(os.path.basename(p).split("_")[2]
                                       .split(".")[0]), p))
    voice_dir = os.path.join(voices_root, f"fsdd_{speaker}", "utts")
    face_dir = os.path.join(faces_root, f"fsdd_{speaker}", "utts")
    os.makedirs(voice_dir, exist_ok=True)
    os.makedirs(face_dir, exist_ok=True)
    face = os.path.join(face_dir, "face.jpg")
    if not os.path.exists(face):
      cv2.imwrite(face, cv2.imread(face_path))
    cursor = 0
    for index in range(utterances):
      target = os.path.join(voice_dir, f"{index:03d}.wav")
      used = _wav_count_for(recordings[cursor:], seconds)
      if not os.path.exists(target):
        _concatenate_wavs(recordings[cursor:cursor + used], target, seconds)
      cursor += used
      made += 1
  return made


def _wav_count_for(paths, seconds):
  """How many of `paths` (in order) reach `seconds` of audio."""
  total = 0.0
  for count, path in enumerate(paths, start=1):
    with wave.open(path) as w:
      total += w.getnframes() / w.getframerate()
    if total >= seconds:
      return count
  return len(paths)
