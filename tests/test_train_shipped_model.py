"""The binary that retrains the shipped model, end to end in its --tiny branch on the paper's real pairs."""

import collections
import csv
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

from data_prep import clip_sources
from experiments.evaluation import model_card
from s2f_tf import run_record
from s2f_tf import speech_to_face
from tests import binaries
from tests import shared_data
from tfrecords_schema import face_decoder_example
from tfrecords_schema import shard_summary
from tfrecords_schema import speech_face

GRID_CLIP = os.path.join(shared_data.REPO_ROOT, "experiments", "demo_data",
                         "grid_av", "bbaf2n.mpg")
STAGES = ("shards", "decoder data", "decoder training",
          "decoder fine-tuning", "decoder identity term", "head selection",
          "head training", "package", "table")


class TrainShippedModelTest(tf.test.TestCase):

  def test_tiny_run_packages_a_model_with_its_card(self):
    pairs = shared_data.require(shared_data.PAIRS_DIR)
    faces = shared_data.require(shared_data.FACES_DIR)
    root = self.create_tempdir().full_path
    extra = os.path.join(root, "extra")
    os.makedirs(extra)
    for name in ("img1.jpg", "img2.jpg", "img16.jpg"):
      os.symlink(os.path.join(faces, name), os.path.join(extra, name))
    work, model_dir = os.path.join(root, "work"), os.path.join(root, "model")
    command = ["-m", "experiments.train_shipped_model", "--tiny",
               f"--pairs_dir={pairs}", f"--extra_faces={extra}",
               f"--out_dir={work}", f"--model_dir={model_dir}",
               "--workers=1"]
    log = binaries.run_ok(command, 900)

    # The decoder never saw a held-out or validation speaker's frame: every
    # pairs photo is a training clip's (read from the split file itself),
    # of every 20th, less the validation speakers' clips (read from their
    # shards).
    with open(clip_sources.PAIRS_SPLIT_FILE) as f:
      split = {row["clip"]: row["split"] for row in csv.DictReader(f)}
    photos = [name[:-4] for _, _, files in os.walk(
        os.path.join(work, "decoder_photos", "pairs")) for name in files]
    train_clips = sum(1 for s in split.values() if s == "train")
    shards = shard_summary.read(os.path.join(work, "shards"))["splits"]
    validation = set()
    for path in tf.io.gfile.glob(shards["validation"]["pattern"]):
      for record in tf.data.TFRecordDataset(path):
        validation.add(speech_face.decode(
            record, "dlib128")["clip_id"].numpy().decode())
    self.assertLen(validation, shards["validation"]["examples"])
    self.assertNotEmpty(validation)
    self.assertLen(photos, len(range(0, train_clips, 20)) - len(validation))
    self.assertEqual({split[clip] for clip in photos}, {"train"})
    self.assertEmpty(validation & set(photos))

    # The fine-tuning data: each fitting clip's frame once with its true
    # feature and once with its cross-fitted prediction (one seed in
    # --tiny); never a validation or held-out speaker's frame.
    fine_tune = shard_summary.read(os.path.join(work, "fine_tune_data"))
    frames = collections.Counter()
    for path in tf.io.gfile.glob(fine_tune["pattern"]):
      for record in tf.data.TFRecordDataset(path):
        image_id = face_decoder_example.image_id_of(record.numpy()).decode()
        if image_id.startswith("pairs/"):
          frames[os.path.basename(image_id)[:-4]] += 1
    self.assertLen(frames, shards["train"]["examples"])
    self.assertEqual(set(frames.values()), {2})
    self.assertEqual({split[clip] for clip in frames}, {"train"})
    self.assertEqual(fine_tune["fine_tune"]["predicted"], len(frames))
    # The fine-tuning continued the decoder's 20 steps with 10 more,
    # without the identity term, and the identity stage those with 2 more,
    # with it, on the fine-tuning data, each in its own folder; the model
    # ships the identity stage's decoder.
    fine_tuned = run_record.read_metrics(os.path.join(
        work, "face_decoder_fine_tuned"))
    self.assertEqual(fine_tuned[-1]["step"], 30)
    self.assertNotIn("losses/identity", fine_tuned[-1])
    identity = run_record.read_metrics(os.path.join(
        work, "face_decoder_identity"))[-1]
    self.assertEqual(identity["step"], 32)
    self.assertGreater(identity["losses/identity"], 0.0)
    with open(os.path.join(work, "face_decoder_identity", "config.json")) as f:
      self.assertEqual(json.load(f)["data"]["data_dir"],
                       os.path.join(work, "fine_tune_data"))
    shipped = keras.models.load_model(
        os.path.join(model_dir, "face_decoder.keras"), compile=False)
    last = keras.models.load_model(os.path.join(
        work, "face_decoder_identity", "export", "face_decoder.keras"),
                                   compile=False)
    for a, b in zip(shipped.get_weights(), last.get_weights()):
      self.assertAllEqual(a, b)

    with open(os.path.join(work, "stage_seconds.json")) as f:
      times = json.load(f)
    for stage in STAGES:
      self.assertGreater(times[stage], 0.0, stage)
    self.assertAllClose(times["total"], sum(times[s] for s in STAGES))

    with open(os.path.join(work, "selection.json")) as f:
      choice = json.load(f)["choice"]
    self.assertEqual((choice["head_hidden"], choice["learning_rate"],
                      choice["train_steps"]), (0, 1e-3, 4))
    self.assertIn(choice["output_scale"], (1.0, 2.0))

    with open(os.path.join(model_dir, "MODEL_CARD.md")) as f:
      card = f.read()
    with open(os.path.join(model_dir, "stage_record.json")) as f:
      record = json.load(f)
    # The record's counts are the work folder's; every number the card
    # states beyond its template's own text is one of the record's.
    self.assertEqual((record["train"], record["validation"], record["test"]),
                     (shards["train"]["examples"],
                      shards["validation"]["examples"], 14))
    self.assertEqual(record["fine_tune_examples"], fine_tune["examples"])
    self.assertEqual(record["stage_seconds"], times)
    self.assertRegex(record["cpu"], r"\d+ cores")
    self.assertRegex(record["commit"], r"^([0-9a-f]{12}(-dirty)?|unknown)$")
    self.assertEqual(record["seeds"]["cross_fitting"], [0])
    assert_card_states_record(self, card, record)
    steps, faces_seen = map(int, re.search(
        r"trained\s+(\d+) steps of \d+ on (\d+) faces", card).groups())
    self.assertEqual(steps, 20)
    # The training frames, 9 GRID frames and 3 extra photos, less those
    # without one usable face.
    self.assertBetween(faces_seen, 0.8 * (len(photos) + 12),
                       len(photos) + 12)
    # The card carries the held-out table, s2f's row first.
    self.assertIn("gender agreement %", card)
    self.assertIn("s2f (this model, from the voice)", card)
    with open(os.path.join(work, "eval", "real_pairs.json")) as f:
      self.assertEqual(json.load(f)["clips"], 14)

    # The packaged folder is a model: a voice in, a 128-D feature and a face.
    model = speech_to_face.SpeechToFace.from_workdir(model_dir)
    feature, image = model.predict_file(GRID_CLIP)
    self.assertEqual(feature.shape, (128,))
    self.assertTrue(np.all(np.isfinite(feature)))
    self.assertEqual(np.asarray(image).shape[:2], (224, 224), log)

    # Redone from the head on (as after a change to the head's recipe):
    # the head's run and the table are moved to redone/1 and made again,
    # the decoder's folders stay, the times of the stages before stay and
    # the total is the sum of the stages.
    kept = os.listdir(os.path.join(work, "face_decoder_identity",
                                   "checkpoints"))
    binaries.run_ok(command + ["--redo_from=head training"], 900)
    self.assertCountEqual(os.listdir(os.path.join(work, "redone", "1")),
                          ["voice_encoder", "eval"])
    self.assertEqual(os.listdir(os.path.join(
        work, "face_decoder_identity", "checkpoints")), kept)
    self.assertEqual(run_record.read_metrics(os.path.join(
        work, "voice_encoder"))[-1]["step"], 4)
    with open(os.path.join(work, "stage_seconds.json")) as f:
      redone = json.load(f)
    for stage in STAGES[:STAGES.index("head training")]:
      self.assertBetween(redone[stage], times[stage], times[stage] + 120)
    self.assertAllClose(redone["total"], sum(redone[s] for s in STAGES))
    with open(os.path.join(model_dir, "stage_record.json")) as f:
      self.assertEqual(json.load(f)["stage_seconds"], redone)
    with open(os.path.join(work, "eval", "real_pairs.json")) as f:
      self.assertEqual(json.load(f)["clips"], 14)

  def test_tiny_needs_its_own_model_folder(self):
    result = binaries.run(["-m", "experiments.train_shipped_model", "--tiny",
                           f"--pairs_dir={shared_data.REPO_ROOT}",
                           "--out_dir=/tmp/unused"], 120)
    self.assertEqual(result.returncode, 1)
    self.assertEqual(result.stderr.strip().splitlines(),
                     ["error: --tiny needs --model_dir: a smoke run never "
                      "replaces the shipped model"])


class ShippedCardTest(tf.test.TestCase):

  def test_shipped_card_states_its_stage_record(self):
    # The committed card is the command's, unedited: every number it
    # states beyond the template's own text is one of the committed stage
    # record's, and the head's config is the record's choice.
    folder = os.path.join(shared_data.REPO_ROOT, "s2f_tf", "models",
                          "weights", "shipped")
    with open(os.path.join(folder, "MODEL_CARD.md")) as f:
      card = f.read()
    with open(os.path.join(folder, "stage_record.json")) as f:
      record = json.load(f)
    with open(os.path.join(folder, "config.json")) as f:
      config = json.load(f)
    assert_card_states_record(self, card, record)
    for key, value in record["choice"].items():
      found = [v for k, v in _leaves(config) if k == key]
      self.assertEqual(found, [value], key)
    self.assertEqual(set(record["stage_seconds"]), set(STAGES) | {"total"})
    self.assertAllClose(record["stage_seconds"]["total"],
                        sum(record["stage_seconds"][s] for s in STAGES))
    self.assertAllClose(record["total_minutes"],
                        record["stage_seconds"]["total"] / 60, atol=0.05)
    self.assertIn(f"{record['total_minutes']} min of stages",
                  " ".join(card.split()))


def _leaves(tree, key=None):
  if isinstance(tree, dict):
    for k, v in tree.items():
      yield from _leaves(v, k)
  else:
    yield key, tree


def assert_card_states_record(test, card, record):
  """The card's counts are the record's, and every number the card states
  before its table, beyond its template's own text, is one of the
  record's."""
  body = " ".join(card.split("## On the held-out speakers")[0].split())
  test.assertIn(f"Trained on**: {record['train']} clips", body)
  test.assertIn(f"{record['fine_tune_examples']} examples", body)
  test.assertIn(f"on {record['validation']} clips of validation", body)
  test.assertIn(f"judged on the {record['test']} clips", body)
  numbers = collections.Counter(re.findall(r"\d+(?:\.\d+)?", body))
  numbers.subtract(re.findall(r"\d+(?:\.\d+)?",
                              model_card.CARD.split("## On the held-out")[0]))
  leaves = set(re.findall(r"\d+(?:\.\d+)?", json.dumps(record)))
  for number, count in numbers.items():
    if count > 0:
      test.assertIn(number, leaves, "a number of the card not in the "
                    "stage record")


if __name__ == "__main__":
  tf.test.main()
