"""Real voices, real faces: the paper's public pairs, s2f trained on them, and its faces beside the paper's.

The Speech2Face project page publishes 1,296 voice/face pairs with the
paper's own output for each voice (`clip_sources.speech2face_pairs`). s2f
splits them by speaker with the committed split file, trains its face
decoder on the training speakers' faces and its voice encoder on their
voices (face teacher dlib128: VGG-Face weights cannot be had offline), then
judges, on the held-out speakers, s2f's faces, the paper's published faces
for the same clips, a constant face, shuffled predictions and a linear
control (`linear_control`) with the same instruments
(`metrics.side_by_side`), and s2f against each baseline as a paired
difference.
"""

from concurrent import futures
import multiprocessing
import os

import cv2
import numpy as np
import tensorflow as tf

from data_prep import clip_sources
from data_prep import pairs_data
from data_prep import split_dvectors
from experiments.evaluation import evaluation_lib
from experiments.evaluation import linear_control
from s2f_tf import media
from s2f_tf import progress
from s2f_tf import speech_to_face
from s2f_tf.faces import face_descriptor
from s2f_tf.metrics import attributes
from s2f_tf.metrics import feature_space
from s2f_tf.metrics import image_degradation
from s2f_tf.metrics import side_by_side
from tfrecords_schema import face_teacher
from tfrecords_schema import speech_face

EXAMPLES_SUBDIR = "speech2face_examples"
TEACHER = face_teacher.DLIB128  # Offline; VGG-Face weights cannot be had.
RESULT_FILE = "real_pairs.json"
TABLE_FILE = "real_pairs_table.md"
FIGURE_VOICES = 16  # Held-out voices in the true | paper | s2f figure.
GET_EXAMPLES = (
    "The paper's 1,296 public voice/face pairs are not here: clone "
    "https://github.com/speech2face/speech2face.github.io and pass its root "
    "as --pairs_dir (YouTube content, research use only).")
ROWS = ("s2f", "paper", "constant", "shuffled", "control")
# The voice rows' predicted features read in the teacher's space
# (`feature_space`), and the true faces' features read the same way.
FEATURE_ROWS = ("s2f_feature", "control_feature", "true_feature")
# A second model on the same clips (`run(compare=...)`, e.g. the demo's
# table1-path encoder beside the shipped model): its faces, its feature.
COMPARE_ROWS = ("compare", "compare_feature")
# Face -> face: s2f's decoder on the true faces' features (as decoded, after
# a JPEG round trip, smaller) and the paper's (Face_f2f).
F2F_ROWS = ("f2f", "f2f_jpeg", "f2f_small", "paper_f2f")
# s2f and the paper's faces on the AVSpeech clips alone (galleries drawn
# among them): speakers no pretrained part can have heard (GE2E's
# pretraining data are LibriSpeech and VoxCeleb).
AVSPEECH_ROWS = {"s2f_avspeech": "s2f", "paper_avspeech": "paper"}
ROW_LABELS = {
    "s2f_avspeech": ("s2f from the voice, AVSpeech clips only (speakers no "
                     "pretrained part heard)"),
    "paper_avspeech": "the paper's faces, the same AVSpeech clips",
    "s2f": "s2f (this model, from the voice)",
    "s2f_feature": ("s2f's predicted feature, before the decoder (teacher "
                    "space)"),
    "control_feature": ("the linear control's predicted feature (teacher "
                        "space)"),
    "true_feature": "the true face's feature (teacher space)",
    "compare": "the compared model (from the voice)",
    "compare_feature": ("the compared model's predicted feature (teacher "
                        "space)"),
    "paper": "the paper's published faces (Face_exg0, same clips)",
    "constant": "a constant face (decoder on the mean training feature)",
    "shuffled": "s2f's faces shuffled across speakers",
    "control": ("the linear control (ridge from log-mel mean + std, "
                "decoded by s2f's decoder)"),
    "f2f": "s2f's decoder on the true face's feature (face -> face)",
    "f2f_jpeg": (f"s2f's face -> face after a JPEG round trip (quality "
                 f"{image_degradation.JPEG_QUALITY})"),
    "f2f_small": (f"s2f's face -> face at {image_degradation.RESIZE_FACTOR}x "
                  "size"),
    "paper_f2f": "the paper's decoder on the true face (Face_f2f)",
}


def read_rgb(path, size=224):
  image = media.read_image(path)
  if image.shape[:2] != (size, size):
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
  return image


READ_BATCH = 32  # Images per instrument call (and per pool task).


class Instruments:
  """The independent readers of every face image: the CC0 gender and age
  networks and dlib's 128-D recognizer."""

  def __init__(self, attribute_models):
    self.classifier = attributes.DlibAttributeClassifier(attribute_models)
    self.embedder = face_descriptor.DlibFaceEmbedder()

  def read_batch(self, images, embed=True):
    """{'gender': labels, 'age': years, 'embedding': (n, 128)} of a few
    RGB images (`embed` False: no embedding, (n, 0))."""
    batch = [np.ascontiguousarray(np.asarray(i, np.uint8)) for i in images]
    shapes = [self.embedder.shape(rgb) for rgb in batch]  # found once
    p = self.classifier.probabilities(batch, shapes)
    return {"gender": [self.classifier.gender_labels[i]
                       for i in p["gender"].argmax(1)],
            "age": list(p["age"] @ self.classifier.age_weights),
            "embedding": self.embedder.embed(batch, shapes) if embed else
                         np.zeros((len(batch), 0))}


_POOL_INSTRUMENTS = []  # a pool process's instruments, loaded once


def _load_instruments(attribute_models):
  _POOL_INSTRUMENTS.append(Instruments(attribute_models))


def _pool_read(task):
  images, embed = task
  return _POOL_INSTRUMENTS[0].read_batch(images, embed)


class Readers:
  """The instruments in `workers` processes (1: in this one); `read` gives
  the same readings either way."""

  def __init__(self, attribute_models, workers=1):
    self._pool = self._local = None
    if workers > 1:
      self._pool = futures.ProcessPoolExecutor(
          workers, mp_context=multiprocessing.get_context("spawn"),
          initializer=_load_instruments, initargs=(attribute_models,))
    else:
      self._local = Instruments(attribute_models)

  def __enter__(self):
    return self

  def __exit__(self, *unused):
    if self._pool:
      self._pool.shutdown()

  def read(self, sets, embed=True):
    """{name: images} -> {name: {'gender', 'age', 'embedding'}} (`embed`
    False: gender and age only, a third of the time)."""
    tasks = [(name, images[start:start + READ_BATCH])
             for name, images in sets.items()
             for start in range(0, len(images), READ_BATCH)]
    bar = progress.Progress(sum(len(b) for _, b in tasks),
                            name=f"{', '.join(sets)} images read")
    batches = [(b, embed) for _, b in tasks]
    results = (self._pool.map(_pool_read, batches) if self._pool else
               (self._local.read_batch(*b) for b in batches))
    out = {name: {"gender": [], "age": [], "embedding": []} for name in sets}
    for (name, batch), result in zip(tasks, results):
      out[name]["gender"] += result["gender"]
      out[name]["age"] += result["age"]
      out[name]["embedding"].append(result["embedding"])
      bar.update(len(batch))
    for reading in out.values():
      reading["embedding"] = (np.concatenate(reading["embedding"])
                              if reading["embedding"] else
                              np.zeros((0, face_descriptor.DIM)))
    return out


def _derangement_by_speaker(speakers, seed):
  """A permutation sending every clip to another speaker's clip."""
  rng = np.random.RandomState(seed)
  n = len(speakers)
  for _ in range(1000):
    order = rng.permutation(n)
    if all(speakers[i] != speakers[order[i]] for i in range(n)):
      return order
  return np.roll(np.arange(n), 1)


def labelled_genders(test_specs, pairs_dir):
  """VoxCeleb's labelled gender ('male' / 'female') per clip, else None."""
  path = os.path.join(pairs_dir, clip_sources.PAIRS_CSV)
  rows = clip_sources.read_pairs_csv(path) if os.path.isfile(path) else {}
  names = {"M": "male", "F": "female"}
  return [names.get(rows.get(s.clip_id, {}).get("gender", "")) for s in
          test_specs]


def predict_faces(model, test_specs):
  """s2f's (features, images) for every test voice, whole clips."""
  features, images = [], []
  bar = progress.Progress(len(test_specs), name="test voices")
  for spec in test_specs:
    feature, image = model.predict_file(spec.media_path)
    features.append(feature)
    images.append(image)
    bar.update()
  return np.stack(features), np.stack(images)


def training_clips(pattern, teacher=TEACHER):
  """(the linear control's voice features (n, 128), teacher features
  (n, dim), speaker ids, face crops) of every example of the training
  shards `pattern`; each waveform is reduced as it is read, so none is
  kept."""
  voices, features, speakers, faces = [], [], [], []
  for record in tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(pattern))):
    example = speech_face.decode(record, teacher)
    voices.append(linear_control.voice_features(example["waveform"].numpy()))
    features.append(example["fc7"].numpy())
    speakers.append(example["speaker_id"].numpy().decode())
    faces.append(split_dvectors.face_crop(example))
  return np.stack(voices), np.stack(features), speakers, faces


def clip_voices(specs, name):
  """The linear control's voice features of clips read from the pairs
  folder, with a progress line named `name`."""
  bar = progress.Progress(len(specs), name=name)
  voices = []
  for spec in specs:
    voices.append(linear_control.voice_features(media.load_speech(
        spec.media_path)))
    bar.update()
  return np.stack(voices)


def run(encoder_run, decoder_path, pairs_dir, attribute_models,
        train_pattern="", seed=0, bootstrap=side_by_side.BOOTSTRAP_SAMPLES,
        limit=0, workers=1, compare=""):
  """The side-by-side table on the held-out speakers.

  Args:
    encoder_run: the voice encoder's workdir or model folder (teacher
      dlib128); "" is the model that ships with s2f.
    decoder_path: its face decoder ("": the run's own).
    pairs_dir: the project-page pairs.
    attribute_models: folder of the CC0 age / gender ONNX networks.
    train_pattern: the training speakers' shards: the constant face decodes
      their mean feature, the linear control is fitted on them, and the
      teacher-space reader learns from their faces. "": the same from the
      pairs folder's training clips directly (teacher features then come
      from the identity instrument on the true frames).
    seed: gallery and bootstrap seed.
    bootstrap: bootstrap resamplings of speakers.
    limit: use only the first `limit` test clips (tests; 0 = all).
    workers: processes reading the face images.
    compare: a second model (workdir or model folder, with its own decoder,
      teacher dlib128) judged on the same clips: rows 'compare' and
      'compare_feature', and s2f minus it as a paired difference.

  Returns:
    (result dict for results.json / the report, {'voice': true | paper |
    s2f from the voice, 'f2f': true | the paper's face -> face | s2f's face
    -> face} RGB figures of 16 held-out speakers).
  """
  train_specs, test_specs = pairs_data.split_specs(pairs_dir)
  if limit:
    test_specs = test_specs[:limit]
  model = _load_model(encoder_run, decoder_path)
  encoder_config = model.config
  speakers = [s.speaker_id for s in test_specs]
  true_images = [read_rgb(s.face_image_path) for s in test_specs]
  features, s2f_images = predict_faces(model, test_specs)
  compared = None
  if compare:
    compared_model = _load_model(compare, "")
    compared = (compared_model.config,) + predict_faces(compared_model,
                                                        test_specs)
    del compared_model
  with Readers(attribute_models, workers) as readers:
    if train_pattern:
      train_voices, train_features, train_speakers, train_faces = (
          training_clips(train_pattern))
      train_read = readers.read({"train": train_faces}, embed=False)["train"]
    else:
      train_voices = clip_voices(train_specs, "training voices")
      train_speakers = [s.speaker_id for s in train_specs]
      train_read = readers.read({"train": [
          read_rgb(s.face_image_path) for s in train_specs]})["train"]
      train_features = train_read["embedding"].astype(np.float32)
    constant = evaluation_lib.decode_images(
        model.decoder, train_features.mean(0, keepdims=True))[0]
    control = linear_control.fit(train_voices, train_features,
                                 train_speakers)
    control_features = control.predict(clip_voices(test_specs,
                                                   "test voices (control)"))
    images = {
        "true": true_images,
        "s2f": list(s2f_images),
        "paper": [read_rgb(clip_sources.paper_output(s.media_path))
                  for s in test_specs],
        "control": list(evaluation_lib.decode_images(
            model.decoder, control_features.astype(np.float32))),
        "constant": [constant],
        # Face -> face: the paper's decoder on the true faces (Face_f2f)
        # and, once the true faces are read, s2f's decoder on their
        # features.
        "paper_f2f": [read_rgb(clip_sources.paper_output(
            s.media_path, "Face_f2f")) for s in test_specs],
    }
    if compared:
      images["compare"] = list(compared[2])
    readings = readers.read(images)
    true_features = readings["true"]["embedding"]  # dlib128 = the teacher
    f2f_images = list(evaluation_lib.decode_images(
        model.decoder, true_features.astype(np.float32)))
    readings.update(readers.read({
        "f2f": f2f_images,
        "f2f_jpeg": [image_degradation.jpeg_round_trip(i) for i in f2f_images],
        "f2f_small": [image_degradation.resized(i) for i in f2f_images]}))
  # The voice rows read in the teacher's space, before the decoder.
  reader = feature_space.FeatureReader(train_features, train_read["gender"],
                                       train_read["age"])
  readings["s2f_feature"] = reader.read(features)
  readings["control_feature"] = reader.read(control_features)
  readings["true_feature"] = reader.read(true_features)
  rows = ROWS + FEATURE_ROWS
  paired_rows = PAIRED
  if compared:
    readings["compare_feature"] = reader.read(compared[1])
    rows += COMPARE_ROWS
    paired_rows += (("s2f", "compare"),)
  readings["constant"] = {
      k: [v[0]] * len(test_specs) if k != "embedding" else
      np.repeat(v, len(test_specs), 0) for k, v in readings["constant"].items()}
  order = _derangement_by_speaker(speakers, seed)
  readings["shuffled"] = {
      "gender": [readings["s2f"]["gender"][j] for j in order],
      "age": [readings["s2f"]["age"][j] for j in order],
      "embedding": readings["s2f"]["embedding"][order]}
  labels = labelled_genders(test_specs, pairs_dir)
  scores = {name: side_by_side.clip_scores(readings[name], readings["true"],
                                           speakers, labels, seed)
            for name in rows + F2F_ROWS}
  avspeech = [i for i, spec in enumerate(test_specs)
              if spec.dataset == "avspeech"]
  if avspeech:
    subset = lambda reading: {
        "gender": [reading["gender"][i] for i in avspeech],
        "age": [reading["age"][i] for i in avspeech],
        "embedding": np.asarray(reading["embedding"])[avspeech]}
    for name, row in AVSPEECH_ROWS.items():
      scores[name] = side_by_side.clip_scores(
          subset(readings[row]), subset(readings["true"]),
          [speakers[i] for i in avspeech], [labels[i] for i in avspeech],
          seed)
  table = {name: side_by_side.summarize(
      scores[name], [speakers[i] for i in avspeech] if name in AVSPEECH_ROWS
      else speakers, bootstrap, seed) for name in scores}
  paired = {f"{row}-{baseline}": {
      metric: side_by_side.paired_difference(
          scores[row], scores[baseline], speakers, metric, bootstrap, seed)
      for metric in PAIRED_METRICS} for row, baseline in paired_rows}
  result = {
      "rows": table, "row_labels": ROW_LABELS, "paired": paired,
      "chance": side_by_side.CHANCE,
      "clips": len(test_specs), "speakers": len(set(speakers)),
      "avspeech_clips": len(avspeech),
      "avspeech_speakers": len({speakers[i] for i in avspeech}),
      "labelled_clips": sum(1 for x in labels if x),
      "teacher": encoder_config.teacher,
      "encoder": encoder_config.encoder,
      "train_steps": encoder_config.train_steps,
      "true_gender": {g: readings["true"]["gender"].count(g)
                      for g in ("female", "male")},
      "control_alpha": control.alpha,
      "compare_encoder": compared[0].encoder if compared else None,
      "split_file": os.path.relpath(clip_sources.PAIRS_SPLIT_FILE,
                                    os.path.dirname(os.path.dirname(
                                        clip_sources.__file__))),
  }
  figures = {"voice": figure_grid(images["true"], images["paper"],
                                  images["s2f"], speakers),
             "f2f": figure_grid(images["true"], images["paper_f2f"],
                                f2f_images, speakers)}
  return result, figures


def _load_model(run_dir, decoder_path):
  """The model of a workdir or model folder, refused unless its teacher is
  the one the table reads faces with."""
  model = speech_to_face.SpeechToFace.from_workdir(run_dir, decoder_path)
  if model.config.teacher != TEACHER:
    raise ValueError(f"{run_dir or 'the shipped model'} predicts "
                     f"{model.config.teacher}; the real-pairs table reads "
                     f"faces with {TEACHER}, the feature its face -> face "
                     "row decodes")
  return model


def figure_grid(true_images, paper_images, s2f_images, speakers,
                count=FIGURE_VOICES, size=112):
  """true | paper | s2f for `count` held-out voices of different speakers,
  four triplets per row, as one RGB image."""
  picks, seen = [], set()
  for i, s in enumerate(speakers):
    if s not in seen:
      seen.add(s)
      picks.append(i)
  step = max(1, len(picks) // count)
  picks = picks[::step][:count]
  cells = []
  for i in picks:
    triplet = [cv2.resize(np.asarray(im[i], np.uint8), (size, size),
                          interpolation=cv2.INTER_AREA)
               for im in (true_images, paper_images, s2f_images)]
    cells.append(np.concatenate(triplet, axis=1))
  if not cells:
    return np.zeros((size, 3 * size, 3), np.uint8)
  gap = np.full((size, 8, 3), 255, np.uint8)
  rows = []
  for start in range(0, len(cells), 4):
    row = cells[start:start + 4]
    row += [np.full_like(cells[0], 255)] * (4 - len(row))
    rows.append(np.concatenate(sum(([c, gap] for c in row), [])[:-1],
                               axis=1))
  return np.concatenate(rows, axis=0)


# s2f against its baselines on the same clips: the difference's own
# speaker-bootstrap interval (the bar: above 0), not two rows' intervals.
PAIRED = (("s2f", "constant"), ("s2f", "shuffled"), ("s2f", "control"),
          ("s2f", "s2f_feature"))
PAIRED_METRICS = ("gender_agreement", "matching")

def paper_rows(pairs_dir, attribute_models, dataset="avspeech", seed=0,
               bootstrap=side_by_side.BOOTSTRAP_SAMPLES):
  """The paper's published faces (Face_exg0, from the voice; Face_f2f, from
  the true face) on every clip of `dataset`, judged as in `run`: an
  independent measurement of the paper's own results, no s2f model
  involved. Returns the result dict `table_rows` formats."""
  specs = [s for s in clip_sources.speech2face_pairs(pairs_dir)
           if s.dataset == dataset]
  speakers = [s.speaker_id for s in specs]
  labels = labelled_genders(specs, pairs_dir)
  images = {"true": [read_rgb(s.face_image_path) for s in specs]}
  for name, kind in (("paper", "Face_exg0"), ("paper_f2f", "Face_f2f")):
    images[name] = [read_rgb(clip_sources.paper_output(s.media_path, kind))
                    for s in specs]
  with Readers(attribute_models) as readers:
    readings = readers.read(images)
  true = readings["true"]
  table = {name: side_by_side.summarize(
      side_by_side.clip_scores(readings[name], true, speakers, labels, seed),
      speakers, bootstrap, seed) for name in ("paper", "paper_f2f")}
  return {"rows": table, "row_labels": ROW_LABELS,
          "chance": side_by_side.CHANCE, "clips": len(specs),
          "speakers": len(set(speakers)), "teacher": "(none: images only)",
          "dataset": dataset,
          "true_gender": {g: true["gender"].count(g)
                          for g in ("female", "male")}}
