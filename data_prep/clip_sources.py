"""Input sources of the shard job: AVSpeech CSV, VoxCeleb folders, video folders.

Each source yields `ClipSpec`s: what to cut from which file, whose face, and
the speaker id the train/test split is made by. Downloading is out of scope:
see data_prep/README.md for how to obtain the media.
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


# The split of the project page's pairs committed with s2f (clip,speaker,split;
# written by `python -m data_prep.make_pairs_split`): every number s2f reports
# on these pairs uses it.
PAIRS_SPLIT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "splits", "speech2face_examples.csv")
# 20 % of speakers in test: 214 speakers, enough for galleries of 100.
PAIRS_TEST_FRACTION = 0.2

# The Speech2Face project page's layout (`speech2face/speech2face.github.io`,
# folders figures/avspeech_res and figures/voxceleb): Wav/<clip>.(wav|flac),
# Face_ori/<clip>.jpg (a real frame of the speaker), and the paper's outputs
# Face_exg0/ (its face from the voice) and Face_f2f/ (its decoder on the true
# face's feature).
PAIR_FOLDERS = {"avspeech_res": "avspeech", "voxceleb": "voxceleb"}
PAIRS_CSV = "pairs.csv"
PAIR_AUDIO_EXTENSIONS = (".wav", ".flac")
VOICE_ASSISTANTS = ("Alexa", "Google", "Siri")  # voxceleb/1145Zz_*: no face.
SPLIT_CHOICES = ("train", "test", "excluded")


class PairsLayoutError(ValueError):
  """A folder that is not in the project page's layout."""


def pair_folders(root):
  """{folder path: dataset} of the pair folders under `root`: `root` itself
  when it holds Wav/ and Face_ori/, else its figures/avspeech_res and
  figures/voxceleb (or avspeech_res and voxceleb directly below it)."""
  if os.path.isdir(os.path.join(root, "Wav")):
    name = os.path.basename(os.path.normpath(root))
    return {root: PAIR_FOLDERS.get(name, "pairs")}
  found = {}
  for parent in (os.path.join(root, "figures"), root):
    for name, dataset in PAIR_FOLDERS.items():
      folder = os.path.join(parent, name)
      if os.path.isdir(os.path.join(folder, "Wav")) and dataset not in \
          found.values():
        found[folder] = dataset
  if not found:
    raise PairsLayoutError(
        f"{root}: no Wav/ and Face_ori/ folders (the layout of "
        "github.com/speech2face/speech2face.github.io: clone it and pass its "
        "root, or one of its figures/avspeech_res, figures/voxceleb)")
  return found


def pair_speaker(clip, dataset):
  """The speaker of a project-page clip by its name: AVSpeech's 11-character
  YouTube id (`<id>_<start>-<end>`), VoxCeleb's celebrity
  (`<4 chars><First_Last>_<11-char YouTube id>_<utterance>`)."""
  if dataset == "voxceleb":
    body = clip[4:]
    parts = body.rsplit("_", 1)
    if len(parts) == 2 and parts[1].isdigit() and len(parts[0]) > 12 and \
        parts[0][-12] == "_":
      return parts[0][:-12]
    return body.split("_")[0]  # voice assistants: 1145Zz_Siri_...
  return clip[:11]


def read_pairs_csv(path):
  """{clip: row dict} of a pairs.csv (set,clip,speaker,video,gender,...)."""
  with open(path, newline="", encoding="utf-8") as f:
    return {row["clip"]: row for row in csv.DictReader(f)}


def read_split_file(path):
  """{clip: (speaker, split)} of a split file `clip,speaker,split`."""
  splits = {}
  with open(path, newline="", encoding="utf-8") as f:
    for line, row in enumerate(csv.DictReader(f), start=2):
      if row.get("split") not in SPLIT_CHOICES:
        raise PairsLayoutError(f"{path}:{line}: split must be one of "
                               f"{', '.join(SPLIT_CHOICES)}")
      splits[row["clip"]] = (row["speaker"], row["split"])
  return splits


def speech2face_pairs(root, split_file=None):
  """Voice/face pairs in the project page's layout -> ClipSpecs.

  Speakers come from `root/pairs.csv` when present, else from the clip name
  (`pair_speaker`). With `split_file` (`clip,speaker,split`), each clip's
  split is the file's ('excluded' and clips missing from it are left out,
  with a logged count); without it the speaker hash splits them. The
  voice-assistant clips (synthetic voices, no face) are always left out.
  """
  folders = pair_folders(root)
  pairs_csv = os.path.join(root, PAIRS_CSV)
  known = read_pairs_csv(pairs_csv) if os.path.isfile(pairs_csv) else {}
  splits = read_split_file(split_file) if split_file else None
  specs = []
  for folder, dataset in sorted(folders.items()):
    wav_dir = os.path.join(folder, "Wav")
    for name in sorted(os.listdir(wav_dir)):
      clip, extension = os.path.splitext(name)
      if extension.lower() not in PAIR_AUDIO_EXTENSIONS:
        continue
      speaker = known[clip]["speaker"] if clip in known else pair_speaker(
          clip, dataset)
      if dataset == "voxceleb" and speaker in VOICE_ASSISTANTS:
        continue
      split = None
      if splits is not None:
        if clip not in splits or splits[clip][1] == "excluded":
          continue
        speaker, split = splits[clip]
      specs.append(ClipSpec(
          clip_id=clip, speaker_id=speaker,
          media_path=os.path.join(wav_dir, name), start_s=None, end_s=None,
          face_centre=None,
          face_image_path=os.path.join(folder, "Face_ori", clip + ".jpg"),
          dataset=dataset, split=split))
  return specs


def paper_output(media_path, kind="Face_exg0"):
  """The paper's published face for a project-page clip (`Face_exg0`: from
  the voice; `Face_f2f`: its decoder on the true face's feature)."""
  folder = os.path.dirname(os.path.dirname(media_path))
  clip = os.path.splitext(os.path.basename(media_path))[0]
  return os.path.join(folder, kind, clip + ".jpg")


def pairs_split_rows(root, test_fraction, salt="s2f"):
  """The speaker-disjoint split of a project-page folder, as split-file rows
  (clip, speaker, split): VoxCeleb1's test celebrities (pairs.csv's
  voxceleb1_split) are all in test, every other speaker by a salted hash of
  its id (`split_rule(speaker)`); the voice assistants are 'excluded'."""
  # The shard job's speaker hash (imported here: the binaries read this
  # module's constants for their flags without loading the job).
  from data_prep import prepare_shards_lib  # pylint: disable=g-import-not-at-top
  known = read_pairs_csv(os.path.join(root, PAIRS_CSV))
  rows = []
  for folder, dataset in sorted(pair_folders(root).items()):
    for name in sorted(os.listdir(os.path.join(folder, "Wav"))):
      clip, extension = os.path.splitext(name)
      if extension.lower() not in PAIR_AUDIO_EXTENSIONS:
        continue
      row = known.get(clip, {})
      speaker = row.get("speaker") or pair_speaker(clip, dataset)
      if dataset == "voxceleb" and speaker in VOICE_ASSISTANTS:
        split = "excluded"
      elif row.get("voxceleb1_split") == "test":
        split = "test"
      else:
        split = prepare_shards_lib.split_of(speaker, test_fraction, salt)
      rows.append((clip, speaker, split))
  return rows
