"""Input sources of the shard job: AVSpeech CSV, VoxCeleb folders, video folders.

Each source yields `ClipSpec`s: what to cut from which file, whose face, and
the speaker id the train/test split is made by. Downloading is out of scope:
see README "Preparing data" for how to obtain the media.
"""

import collections
import csv
import os

from s2f_tf import media


class ClipSpec(collections.namedtuple(
    "ClipSpec", "clip_id speaker_id media_path start_s end_s face_centre "
    "face_image_path dataset split", defaults=(None,))):
  """One clip to prepare.

  start_s / end_s: segment in the media file (None: whole file).
  face_centre: (x, y) in [0, 1] of the speaker's face (AVSpeech), or None.
  face_image_path: a face frame given as an image (VoxCeleb), or None to take
    the middle video frame of the segment.
  split: 'train' / 'test' when the dataset publishes its own split (the
    AVSpeech CSVs); None to split by a hash of the speaker.
  """


def _find_media(media_dir, stem):
  for extension in media.VIDEO_EXTENSIONS:
    path = os.path.join(media_dir, stem + extension)
    if os.path.exists(path):
      return path
  return os.path.join(media_dir, stem + ".mp4")  # reported missing later


def avspeech(csv_path, media_dir, split=None):
  """AVSpeech rows `youtube_id,start,end,face_x,face_y` + downloaded videos.

  Each row's video is `media_dir/<youtube_id>.<ext>` (the full video; the
  segment is cut by time). AVSpeech has no speaker labels: the video id is the
  speaker id, so no video is in both splits. `split` ('train' / 'test')
  keeps the published split of avspeech_train.csv / avspeech_test.csv.
  """
  specs = []
  with open(csv_path, newline="", encoding="utf-8") as f:
    for row in csv.reader(f):
      if not row or row[0].startswith("#"):
        continue
      youtube_id, start, end, x, y = row[:5]
      start, end = float(start), float(end)
      specs.append(ClipSpec(
          clip_id=f"{youtube_id}_{start:.3f}", speaker_id=youtube_id,
          media_path=_find_media(media_dir, youtube_id), start_s=start,
          end_s=end, face_centre=(float(x), float(y)), face_image_path=None,
          dataset="avspeech", split=split))
  return specs


def voxceleb(root, faces_root=None):
  """VoxCeleb-style `root/<speaker>/<video>/<utterance>.<audio or video>`.

  Faces: the middle image of `faces_root/<speaker>/<video>/` when given, else
  the middle frame of the utterance file itself (which must have video).
  """
  specs = []
  for speaker in sorted(os.listdir(root)):
    speaker_dir = os.path.join(root, speaker)
    if not os.path.isdir(speaker_dir):
      continue
    for video in sorted(os.listdir(speaker_dir)):
      video_dir = os.path.join(speaker_dir, video)
      if not os.path.isdir(video_dir):
        continue
      face_image = None
      if faces_root:
        face_dir = os.path.join(faces_root, speaker, video)
        images = sorted(n for n in os.listdir(face_dir)
                        if n.lower().endswith(media.IMAGE_EXTENSIONS)) if \
            os.path.isdir(face_dir) else []
        face_image = os.path.join(face_dir, images[len(images) // 2]) \
            if images else os.path.join(face_dir, "<no face images>")
      for name in sorted(os.listdir(video_dir)):
        if name.lower().endswith(media.MEDIA_EXTENSIONS):
          specs.append(ClipSpec(
              clip_id=f"{speaker}/{video}/{os.path.splitext(name)[0]}",
              speaker_id=speaker, media_path=os.path.join(video_dir, name),
              start_s=None, end_s=None, face_centre=None,
              face_image_path=face_image, dataset="voxceleb"))
  return specs


def video_folder(root):
  """Every talking-face video under `root`.

  The speaker is the first folder below `root` (`root/<speaker>/...`); a video
  directly in `root` is its own speaker.
  """
  specs = []
  for directory, _, names in sorted(os.walk(root)):
    for name in sorted(names):
      if not name.lower().endswith(media.VIDEO_EXTENSIONS):
        continue
      path = os.path.join(directory, name)
      relative = os.path.relpath(path, root)
      parts = relative.split(os.sep)
      speaker = parts[0] if len(parts) > 1 else os.path.splitext(name)[0]
      specs.append(ClipSpec(
          clip_id=os.path.splitext(relative)[0].replace(os.sep, "/"),
          speaker_id=speaker, media_path=path, start_s=None, end_s=None,
          face_centre=None, face_image_path=None, dataset="video_folder"))
  return specs
