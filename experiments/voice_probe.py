r"""What the voice carries, measured before any decoder: ridge probes from voice features to the true face's dlib-128.

  python -m experiments.voice_probe --pairs_dir PAIRS [--split validation]

On the committed split of the paper's public pairs, each voice becomes a
fixed feature (the linear control's 64-band log-mel mean + std of the first
6 s, and the pretrained GE2E d-vector of the whole clip); a ridge (strength
by speaker-grouped CV on the training speakers) maps it to the dlib-128
descriptor of the speaker's true frame, and the predicted descriptors are
read in the teacher's space (`metrics.feature_space`: gender by a logistic
regression fitted on the training faces, R@K in galleries of 100 and 1:2
against the true faces' descriptors), with 95 % speaker-bootstrap
intervals. This is the evidence for s2f's `ge2e` backbone (WORKSPACE.md,
"Voice backbone"); `--split validation` reads a slice of the training
speakers instead of the test split, for choices made without peeking.
"""

import json
import os

from absl import flags
import numpy as np

from experiments.evaluation import linear_control
from data_prep import pairs_data
from experiments.evaluation import real_pairs
from s2f_tf import console
from s2f_tf import media
from s2f_tf import progress
from s2f_tf.metrics import feature_space
from s2f_tf.metrics import side_by_side
from s2f_tf.models import ge2e

flags.DEFINE_string("pairs_dir", None, "The project page's pairs folder.",
                    required=True)
flags.DEFINE_string("attribute_models", os.path.join(
    os.path.dirname(__file__), "demo_data", "models", "dlib_age_gender"),
                    "Folder of the CC0 age / gender ONNX networks.")
flags.DEFINE_enum("split", "test", ["test", "validation"],
                  "Judge on the held-out test speakers, or on the validation "
                  "slice of the training speakers (fitting on the rest).")
flags.DEFINE_string("out", "", "Write the result JSON here too.")
flags.DEFINE_integer("workers", 2, "Processes reading the face images.")
flags.DEFINE_integer("bootstrap", side_by_side.BOOTSTRAP_SAMPLES,
                     "Speaker resamplings for the intervals.")
FLAGS = flags.FLAGS

VOICE_FEATURES = ("logmel", "ge2e")
LABELS = {"logmel": "log-mel mean+std (the linear control's)",
          "ge2e": "GE2E d-vector (pretrained speaker encoder)",
          "truth": "the true face's own dlib-128 (ceiling)"}
COLUMNS = ("gender_agreement", "age_r", "r_at_1", "r_at_5", "r_at_10",
           "matching")


def voice_features(specs):
  """{'logmel': (n, 128), 'ge2e': (n, 256)} of every clip."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  dvector = tf.function(ge2e.pretrained(), input_signature=[
      tf.TensorSpec([1, None], tf.float32)])  # one graph for every length
  out = {name: [] for name in VOICE_FEATURES}
  bar = progress.Progress(len(specs), name="voices")
  for spec in specs:
    waveform = media.load_speech(spec.media_path)
    out["logmel"].append(linear_control.voice_features(waveform))
    out["ge2e"].append(np.asarray(dvector(waveform[None]))[0])
    bar.update()
  return {k: np.stack(v) for k, v in out.items()}


def probe(fit_specs, judge_specs, attribute_models, workers=2,
          bootstrap=side_by_side.BOOTSTRAP_SAMPLES, seed=0):
  """{feature: summary} of ridge probes fitted on `fit_specs`, judged on
  `judge_specs` in the teacher's space."""
  specs = fit_specs + judge_specs
  n_fit = len(fit_specs)
  with real_pairs.Readers(attribute_models, workers) as readers:
    true = readers.read({"true": [real_pairs.read_rgb(s.face_image_path)
                                  for s in specs]})["true"]
  voices = voice_features(specs)
  fit_speakers = [s.speaker_id for s in fit_specs]
  judge_speakers = [s.speaker_id for s in judge_specs]
  target = true["embedding"]
  reader = feature_space.FeatureReader(target[:n_fit], true["gender"][:n_fit],
                                       true["age"][:n_fit])
  judged_true = {k: v[n_fit:] for k, v in true.items()}
  result = {}
  predicted = {name: linear_control.fit(
      voices[name][:n_fit], target[:n_fit], fit_speakers).predict(
          voices[name][n_fit:]) for name in VOICE_FEATURES}
  predicted["truth"] = target[n_fit:]
  for name, features in predicted.items():
    scores = side_by_side.clip_scores(reader.read(features), judged_true,
                                      judge_speakers, seed=seed)
    result[name] = side_by_side.summarize(scores, judge_speakers, bootstrap,
                                          seed)
  return result


def markdown(result):
  lines = ["| voice features -> ridge to dlib-128 | gender % | age r | "
           "R@1 % | R@5 % | R@10 % | 1:2 % |", "|---|---|---|---|---|---|---|"]
  for name, stats in result.items():
    cells = []
    for key in COLUMNS:
      entry = stats[key]
      digits = 2 if key == "age_r" else 1
      cells.append(f"{entry['value']:.{digits}f} [{entry['low']:.{digits}f}, "
                   f"{entry['high']:.{digits}f}]")
    lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  del argv
  train, test = pairs_data.split_specs(FLAGS.pairs_dir)
  if FLAGS.split == "validation":
    train, test = pairs_data.validation_split(train)
  result = probe(train, test, FLAGS.attribute_models, FLAGS.workers,
                 FLAGS.bootstrap)
  print(f"{len(train)} clips fitted, {len(test)} judged ({FLAGS.split})\n")
  print(markdown(result))
  if FLAGS.out:
    with open(FLAGS.out, "w") as f:
      json.dump({"split": FLAGS.split, "fitted": len(train),
                 "judged": len(test), "rows": result}, f, indent=2)


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
