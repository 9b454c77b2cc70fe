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
import uuid

import numpy as np
import tensorflow as tf

from experiments.evaluation import prediction_pass
from experiments.evaluation import report
from s2f_tf import frozen_heads
from s2f_tf import input_pipeline
from s2f_tf import run_record
from s2f_tf import speech_to_face
from s2f_tf.faces import face_descriptor
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.metrics import attributes
from s2f_tf.metrics import craniofacial
from s2f_tf.metrics import feature_similarity
from s2f_tf.metrics import identity
from s2f_tf.metrics import retrieval
from s2f_tf.metrics import side_by_side
from s2f_tf.models import voice_encoder
from tfrecords_schema import face_teacher

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"


def _encoder_id(workdir):
  """The checkpoint a workdir's encoder is loaded from (partials' key)."""
  return tf.train.latest_checkpoint(
      os.path.join(workdir, run_record.CHECKPOINT_DIR))


def _network_input(train_cfg):
  """What an encoder reads: the waveform (ge2e) or the spectrogram."""
  return (input_pipeline.WAVEFORM if voice_encoder.takes_waveform(
      train_cfg.encoder) else input_pipeline.SPECTROGRAM)


def run_pass(config, name, predict_fn, encoder_id, segment_seconds,
             image_samples, teacher,
             network_input=input_pipeline.SPECTROGRAM):
  """One prediction pass over the test split, split across workers.

  Worker `config.worker_index` predicts its share and writes it; with
  worker_index -1 this process predicts every share not yet written (a
  rerun reuses the finished ones) and returns the merged sample; a worker
  returns None.
  """
  num = config.num_workers
  fingerprint = {"encoder": encoder_id, "pattern": config.test_pattern,
                 "segment_seconds": segment_seconds, "workers": num,
                 "max_examples": config.max_examples, "seed": config.seed,
                 "feature_samples": config.feature_samples,
                 "image_samples": image_samples}
  mine = range(num) if config.worker_index < 0 else [config.worker_index]
  paths = [prediction_pass.partial_path(config.out_dir, name, w, num)
           for w in range(num)]
  for worker in mine:
    if prediction_pass.partial_is_current(paths[worker], fingerprint):
      continue
    prediction = prediction_pass.predict(
        predict_fn, config.test_pattern, segment_seconds, config.batch_size,
        -(-config.max_examples // num), image_samples,
        seed=[config.seed, worker], feature_samples=config.feature_samples,
        shard=(worker, num) if num > 1 else None, teacher=teacher,
        network_input=network_input)
    prediction_pass.write_partial(paths[worker], prediction, fingerprint)
  if config.worker_index >= 0:
    return None
  return prediction_pass.merge(paths, config.feature_samples, image_samples,
                               config.seed)


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


def _tables(predicted, true, speaker_ids, config):
  """(Table 2 row, {'gallery': paper protocol, 'full': 5,000-way ranking}).

  Both Table 3 protocols use the same `database_size` sampled clips.
  """
  index = feature_similarity.sample_pairs(len(predicted),
                                          config.database_size, config.seed)
  sampled = (predicted[index], true[index], [speaker_ids[i] for i in index])
  return (feature_similarity.feature_similarity(
      predicted, true, config.num_pairs, config.seed),
          {"gallery": retrieval.gallery_table3(
              *sampled, config.gallery_size, config.num_galleries,
              seed=config.seed),
           "full": retrieval.table3(sampled[0], sampled[1], len(index),
                                    seed=config.seed)})


def _face_metrics(config, main, classifier, true_labels, embedder, results,
                  figures, teacher):
  """Fig. 4 / 5, identity metrics and face figures, from the face decoder."""
  _, decoder = frozen_heads.load_face_decoder(config.decoder_path,
                                              teacher=teacher)
  f2f = decode_images(decoder, main["face_true"])
  s2f = decode_images(decoder, main["face_predicted"])
  count = min(config.num_craniofacial, len(f2f))
  predictor = landmarks_lib.LandmarkDetector()
  detector = face_detector.FaceDetector("cnn")
  results["craniofacial"] = craniofacial.correlations(
      reconstruction_landmarks(f2f[:count], detector, predictor),
      reconstruction_landmarks(s2f[:count], detector, predictor),
      config.seed)
  results["craniofacial_samples"] = count
  # Figures show one clip per speaker: examples across speakers, and
  # retrieval among different people (one photo each).
  one = side_by_side.query_clips(main["face_speaker_ids"])
  shown = one[:8]
  figures["examples"] = report.examples_figure(
      main["faces"][shown], f2f[shown], s2f[shown])
  figures["retrieval"] = report.retrieval_figure(
      s2f[one[:4]], [retrieval.top_k(main["face_predicted"][q],
                                     main["face_true"][one], 5)
                     for q in one[:4]], main["faces"][one], list(range(4)))
  embedder = embedder or face_descriptor.DlibFaceEmbedder()
  genders = true_labels.get("gender") if true_labels else None
  results["identity"] = identity.identity_metrics(
      embedder.embed(s2f), embedder.embed(main["faces"]),
      main["face_speaker_ids"], genders, config.seed, config.gallery_size,
      config.num_galleries)
  if classifier is not None:
    results["attributes"] = attributes.agreement_from_labels(
        true_labels, classifier.classify(s2f))
    figures["confusion"] = report.confusion_figure(results["attributes"])


def _balance(main, true_labels):
  """Counts per attribute class of the sampled true faces, else per speaker."""
  if true_labels is not None:
    return {a: {c: labels.count(c) for c in sorted(set(labels))}
            for a, labels in true_labels.items()}
  return {"speaker": {s: main["speaker_ids"].count(s) for s in
                      sorted(set(main["speaker_ids"]))}}


def _write(config, results, figures):
  with tf.io.gfile.GFile(os.path.join(config.out_dir, RESULTS_FILE), "w") as f:
    f.write(json.dumps(results, indent=2, default=float, allow_nan=False))
  html = report.render(results, figures)
  with tf.io.gfile.GFile(os.path.join(config.out_dir, REPORT_FILE), "w") as f:
    f.write(html)


def evaluate(config, classifier=None, predict_fn=None, embedder=None,
             extra_results=None, extra_figures=None):
  """Runs every metric; writes results.json and report.html; returns results.

  With `config.worker_index` >= 0 this process only predicts its share of
  the test split (see `run_pass`) and returns {'worker': index}; a run with
  the default -1 then merges the shares and computes the metrics.

  Args:
    config: EvalConfig.
    classifier: attribute classifier (`classify(images)`); default: the
      dlib-models in `config.attribute_models` when given, else none.
    predict_fn: batch -> predicted features (default: the workdir's encoder
      on the batch's spectrogram; known-answer tests pass oracles, which
      are never reused from earlier partials).
    embedder: face recognizer for the identity metrics (`embed(images)`);
      default dlib's 128-D ResNet when a decoder is given.
    extra_results: more sections for results.json and the report (the
      demo's {'learning': voice_learning result} or {'real_pairs': ...}).
    extra_figures: their figures ({'real_pairs': PNG base64}).
  """
  config.validate()
  tf.io.gfile.makedirs(config.out_dir)
  model, train_cfg = speech_to_face.load_encoder(config.workdir)
  encoder_id = _encoder_id(config.workdir) if predict_fn is None else \
      f"custom-{uuid.uuid4()}"
  network_input = _network_input(train_cfg)
  predict_fn = predict_fn or prediction_pass.encoder_fn(model, network_input)
  segments = [float(s) for s in config.segments.split(",") if s]
  results = {"config": dataclasses.asdict(config),
             "train_config": dataclasses.asdict(train_cfg),
             "table2": {}, "table3": {}, "ablations": {}}
  main = None
  for seconds in segments:
    key = f"{seconds:g}s"
    p = run_pass(config, key, predict_fn, encoder_id, seconds,
                 config.image_samples, train_cfg.teacher, network_input)
    if p is not None:
      results["table2"][key], results["table3"][key] = _tables(
          p["predicted"], p["true"], p["speaker_ids"], config)
      main = main or p  # the first segment's predictions feed the figures
  ablations = {}
  for item in filter(None, config.ablations.split(",")):
    name, workdir = item.split("=", 1)
    ablation_model, ablation_cfg = speech_to_face.load_encoder(workdir)
    face_teacher.check_same(train_cfg.teacher, ablation_cfg.teacher,
                            f"The ablation run {workdir}")
    ablations[name] = run_pass(
        config, f"ablation_{name}_{segments[0]:g}s",
        prediction_pass.encoder_fn(ablation_model,
                                   _network_input(ablation_cfg)),
        _encoder_id(workdir), segments[0], 0, train_cfg.teacher,
        _network_input(ablation_cfg))
  if config.worker_index >= 0:
    return {"worker": config.worker_index}
  for name, p in ablations.items():
    table2, table3 = _tables(p["predicted"], p["true"], p["speaker_ids"],
                             config)
    results["ablations"][name] = {"table2": table2, "table3": table3}
  results["examples"] = main["seen"]
  results["feature_samples"] = len(main["true"])
  results["speakers"] = len(set(main["speaker_ids"]))
  results["image_samples"] = len(main["faces"])

  if classifier is None and config.attribute_models:
    classifier = attributes.DlibAttributeClassifier(config.attribute_models)
  # The sampled true faces are classified once: agreement and balance.
  true_labels = classifier.classify(main["faces"]) if classifier else None
  figures = {}
  if config.decoder_path:
    _face_metrics(config, main, classifier, true_labels, embedder, results,
                  figures, train_cfg.teacher)
  results["balance"] = _balance(main, true_labels)
  if true_labels is not None and "ethnicity" not in true_labels:
    results["ethnicity_note"] = attributes.ETHNICITY_HELP
  figures["balance"] = report.balance_figure(results["balance"])
  figures["tsne"] = report.tsne_figure(main["predicted"][:config.num_tsne],
                                       main["speaker_ids"][:config.num_tsne],
                                       config.seed)
  curves = report.learning_curves_figure(config.workdir)
  if curves:
    figures["curves"] = curves
  results.update(extra_results or {})
  figures.update(extra_figures or {})
  _write(config, results, figures)
  return results
