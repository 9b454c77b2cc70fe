"""Evaluation of a trained voice encoder: every metric of Sec. 5, JSON + HTML report.

`evaluate(config)` loads the encoder from its training workdir, predicts the
fc7 of every test clip for each segment length (3 s and 6 s by default), and
computes Table 2, Table 3, attribute agreement (Fig. 4, when a classifier is
given), craniofacial correlations (Fig. 5, when a face decoder is given), the
retrieval examples, a t-SNE of the predicted features, the data set's
balance, and the same tables for ablation runs. Results go to
`<out_dir>/results.json` and `<out_dir>/report.html`.
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from experiments import report
from s2f_tf import frozen_heads
from s2f_tf import input_pipeline
from s2f_tf import progress as progress_lib
from s2f_tf import run_config
from s2f_tf import speech_to_face
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.metrics import attributes
from s2f_tf.metrics import craniofacial
from s2f_tf.metrics import feature_similarity
from s2f_tf.metrics import retrieval
from tfrecords_schema import shard_summary

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"


@dataclasses.dataclass
class EvalConfig(run_config.RunConfig):
  workdir: str = ""  # The voice encoder's training workdir.
  test_pattern: str = ""
  out_dir: str = ""
  decoder_path: str = ""  # Exported face decoder (.keras) for F2F / S2F.
  attribute_models: str = ""  # Folder of the attribute classifier's files.
  segments: str = "6,3"  # Seconds of speech per test clip (Table 2 / 3).
  num_pairs: int = feature_similarity.NUM_PAIRS
  database_size: int = retrieval.DATABASE_SIZE
  max_examples: int = 0  # 0: every test clip.
  num_craniofacial: int = 1000  # Fig. 5 uses 1,000 test samples.
  num_tsne: int = 1000
  batch_size: int = 8
  ablations: str = ""  # "name=workdir,name=workdir": more encoders, Table 2/3.
  seed: int = 0


def predict(model, pattern, segment_seconds, batch_size=8, max_examples=0):
  """Predicted and true fc7, face crops and ids of the test clips."""
  ds = input_pipeline.make_dataset(
      pattern, batch_size, is_training=False, segment_seconds=segment_seconds,
      deterministic=True, repeat=False, with_images=True, with_ids=True,
      drop_remainder=False)
  out = {"predicted": [], "true": [], "faces": [], "clip_ids": [],
         "speaker_ids": []}
  seen = 0
  progress = progress_lib.Progress(
      max_examples or shard_summary.examples_matching(pattern) or 0,
      name=f"evaluated {segment_seconds:g} s clips")
  for batch in ds:
    out["predicted"].append(np.asarray(model(batch["spectrogram"],
                                             training=False)))
    out["true"].append(batch["fc7"].numpy())
    out["faces"].append(batch["face_image"].numpy())
    out["clip_ids"] += [c.decode() for c in batch["clip_id"].numpy()]
    out["speaker_ids"] += [s.decode() for s in batch["speaker_id"].numpy()]
    seen += len(batch["fc7"])
    progress.update(len(batch["fc7"]))
    if max_examples and seen >= max_examples:
      break
  count = max_examples or seen
  for key in ("predicted", "true", "faces"):
    out[key] = np.concatenate(out[key])[:count]
  out["clip_ids"] = out["clip_ids"][:count]
  out["speaker_ids"] = out["speaker_ids"][:count]
  return out


def decode_images(decoder, features, batch_size=16):
  """uint8 (N, 224, 224, 3) reconstructions of `features`."""
  images = [np.asarray(decoder(features[s:s + batch_size], training=False))
            for s in range(0, len(features), batch_size)]
  return np.clip(np.round(np.concatenate(images) * 255), 0, 255).astype(
      np.uint8)


def reconstruction_landmarks(images, detector, predictor):
  """dlib 68 landmarks of reconstructions; the whole frame is the face box
  when the detector finds none (reconstructions are aligned face crops)."""
  points = []
  for image in images:
    boxes = detector.detect(image)
    box = max(boxes, key=lambda b: (b.right - b.left) * (b.bottom - b.top)) \
        if boxes else face_detector.Box(0, 0, image.shape[1] - 1,
                                        image.shape[0] - 1, 0.0)
    points.append(predictor(image, box))
  return np.stack(points)


def _tables(predicted, true, config):
  return (feature_similarity.feature_similarity(
      predicted, true, config.num_pairs, config.seed),
          retrieval.table3(predicted, true, config.database_size,
                           seed=config.seed))


def evaluate(config, classifier=None):
  """Runs every metric; writes results.json and report.html; returns results.

  Args:
    config: EvalConfig.
    classifier: attribute classifier (`classify(images)`); default: the
      OpenCV models in `config.attribute_models` when given, else none.
  """
  tf.io.gfile.makedirs(config.out_dir)
  model, train_cfg = speech_to_face.load_encoder(config.workdir)
  segments = [float(s) for s in config.segments.split(",") if s]
  results = {"config": dataclasses.asdict(config),
             "train_config": dataclasses.asdict(train_cfg),
             "table2": {}, "table3": {}, "ablations": {}}
  figures = {}
  predictions = {}
  for seconds in segments:
    key = f"{seconds:g}s"
    predictions[key] = predict(model, config.test_pattern, seconds,
                               config.batch_size, config.max_examples)
    results["table2"][key], results["table3"][key] = _tables(
        predictions[key]["predicted"], predictions[key]["true"], config)
  main = predictions[f"{segments[0]:g}s"]
  results["examples"] = len(main["true"])
  results["speakers"] = len(set(main["speaker_ids"]))

  if classifier is None and config.attribute_models:
    classifier = attributes.DlibAttributeClassifier(config.attribute_models)
  # The true faces are classified once: for agreement and for the balance.
  true_labels = classifier.classify(main["faces"]) if classifier else None
  decoder = None
  if config.decoder_path:
    _, decoder = frozen_heads.load_face_decoder(config.decoder_path)
  if decoder is not None:
    count = min(config.num_craniofacial, len(main["true"]))
    f2f = decode_images(decoder, main["true"][:count])
    s2f = decode_images(decoder, main["predicted"][:count])
    predictor = landmarks_lib.LandmarkDetector()
    detector = face_detector.FaceDetector("cnn")
    results["craniofacial"] = craniofacial.correlations(
        reconstruction_landmarks(f2f, detector, predictor),
        reconstruction_landmarks(s2f, detector, predictor), config.seed)
    results["craniofacial_samples"] = count
    figures["examples"] = report.examples_figure(main["faces"][:8], f2f[:8],
                                                 s2f[:8])
    figures["retrieval"] = report.retrieval_figure(
        s2f[:4], [retrieval.top_k(q, main["true"], 5) for q in
                  main["predicted"][:4]], main["faces"], list(range(4)))
    if classifier is not None:
      results["attributes"] = attributes.agreement_from_labels(
          {a: labels[:count] for a, labels in true_labels.items()},
          classifier.classify(s2f))
      figures["confusion"] = report.confusion_figure(results["attributes"])
  if classifier is not None:
    results["balance"] = {a: {c: labels.count(c) for c in sorted(set(labels))}
                          for a, labels in true_labels.items()}
  else:
    results["balance"] = {"speaker": {s: main["speaker_ids"].count(s) for s in
                                      sorted(set(main["speaker_ids"]))}}
  figures["balance"] = report.balance_figure(results["balance"])
  figures["tsne"] = report.tsne_figure(main["predicted"][:config.num_tsne],
                                       main["speaker_ids"][:config.num_tsne],
                                       config.seed)
  for item in filter(None, config.ablations.split(",")):
    name, workdir = item.split("=", 1)
    ablation_model, _ = speech_to_face.load_encoder(workdir)
    p = predict(ablation_model, config.test_pattern, segments[0],
                config.batch_size, config.max_examples)
    table2, table3 = _tables(p["predicted"], p["true"], config)
    results["ablations"][name] = {"table2": table2, "table3": table3}

  with tf.io.gfile.GFile(os.path.join(config.out_dir, RESULTS_FILE), "w") as f:
    f.write(json.dumps(results, indent=2, default=float, allow_nan=False))
  html = report.render(results, figures)
  with tf.io.gfile.GFile(os.path.join(config.out_dir, REPORT_FILE), "w") as f:
    f.write(html)
  return results
