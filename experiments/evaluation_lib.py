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
from s2f_tf.metrics import identity
from s2f_tf.metrics import retrieval

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"


@dataclasses.dataclass
class EvalConfig(run_config.RunConfig):
  workdir: str = ""  # The voice encoder's training workdir.
  test_pattern: str = ""  # Glob of the test shards.
  out_dir: str = ""  # Where results.json and report.html go.
  decoder_path: str = ""  # Exported face decoder (.keras) for F2F / S2F.
  # Folder of the dlib-models age/gender ONNX files (+ optional fairface.onnx).
  attribute_models: str = ""
  segments: str = "6,3"  # Seconds of speech per test clip (Table 2 / 3).
  num_pairs: int = feature_similarity.NUM_PAIRS  # Table 2 pairs.
  database_size: int = retrieval.DATABASE_SIZE  # Clips sampled for Table 3.
  gallery_size: int = retrieval.GALLERY_SIZE  # Candidates per query.
  num_galleries: int = retrieval.NUM_GALLERIES  # Disjoint galleries.
  max_examples: int = 0  # 0: every test clip.
  # Clips whose face crops are kept (a seeded uniform sample, drawn while
  # streaming): attributes, Fig. 5, identity and figures use these.
  image_samples: int = 1000
  # Clips whose features are kept (a seeded uniform sample, drawn while
  # streaming; 0: all): Table 2 / 3 sample from these, so memory does not
  # grow with the test split. The default covers Table 2's 5,000 pairs and
  # Table 3's 5,000 clips.
  feature_samples: int = 5000
  num_craniofacial: int = 1000  # Fig. 5 uses 1,000 test samples.
  num_tsne: int = 1000  # Predicted features in the t-SNE plot.
  batch_size: int = 8  # Clips per encoder batch.
  ablations: str = ""  # "name=workdir,name=workdir": more encoders, Table 2/3.
  seed: int = 0  # Sampling seed.


def encoder_fn(model):
  """The usual prediction: the encoder on the batch's spectrogram."""
  return lambda batch: np.asarray(model(batch["spectrogram"], training=False))


class Reservoir:
  """A uniform random sample of at most `size` items of a stream, kept while
  it streams (Algorithm R); size 0 keeps every item."""

  def __init__(self, size, rng):
    self.size, self.rng = size, rng
    self.items, self.positions = [], []

  def offer(self, position, item):
    if not self.size or len(self.items) < self.size:
      self.items.append(item)
      self.positions.append(position)
      return
    slot = self.rng.randint(position + 1)
    if slot < self.size:
      self.items[slot], self.positions[slot] = item, position

  def in_stream_order(self):
    return [self.items[i] for i in np.argsort(self.positions, kind="stable")]


def predict(predict_fn, pattern, segment_seconds, batch_size=8,
            max_examples=0, image_samples=1000, seed=0, feature_samples=0):
  """Streams the test clips through `predict_fn`; keeps uniform samples.

  Memory is bounded by the samples, not the split: predicted and true fc7
  and ids of `feature_samples` clips (0: all), and face crops, with their
  clips' features and ids, of `image_samples` clips, each sample drawn by
  reservoir sampling while streaming.

  Returns {'predicted', 'true', 'clip_ids', 'speaker_ids' (the feature
  sample, in stream order), 'faces' (K, 224, 224, 3), 'face_predicted',
  'face_true', 'face_speaker_ids' (the image sample), 'seen'}.
  """
  ds = input_pipeline.make_dataset(
      pattern, batch_size, is_training=False, segment_seconds=segment_seconds,
      deterministic=True, repeat=False, with_images=True, with_ids=True,
      drop_remainder=False)
  rng = np.random.RandomState(seed)
  features = Reservoir(feature_samples, rng)
  images = Reservoir(image_samples, rng) if image_samples else None
  seen = 0
  progress = progress_lib.Progress(
      max_examples or input_pipeline.num_examples(pattern) or 0,
      name=f"evaluated {segment_seconds:g} s clips")
  for batch in ds:
    predicted = np.asarray(predict_fn(batch), np.float32)
    true = batch["fc7"].numpy()
    clip_ids = [c.decode() for c in batch["clip_id"].numpy()]
    speaker_ids = [s.decode() for s in batch["speaker_id"].numpy()]
    faces = batch["face_image"].numpy()
    for i in range(len(true)):
      if max_examples and seen >= max_examples:
        break
      features.offer(seen, (predicted[i], true[i], clip_ids[i],
                            speaker_ids[i]))
      if images is not None:
        images.offer(seen, (faces[i], predicted[i], true[i], speaker_ids[i]))
      seen += 1
    progress.update(len(true))
    if max_examples and seen >= max_examples:
      break
  kept = features.in_stream_order()
  out = {"seen": seen,
         "predicted": np.stack([k[0] for k in kept]) if kept else
                      np.zeros((0, 4096), np.float32),
         "true": np.stack([k[1] for k in kept]) if kept else
                 np.zeros((0, 4096), np.float32),
         "clip_ids": [k[2] for k in kept],
         "speaker_ids": [k[3] for k in kept]}
  sample = images.in_stream_order() if images is not None else []
  out["faces"] = np.stack([k[0] for k in sample]) if sample else np.zeros(
      (0, 224, 224, 3), np.uint8)
  out["face_predicted"] = np.stack([k[1] for k in sample]) if sample else \
      np.zeros((0, 4096), np.float32)
  out["face_true"] = np.stack([k[2] for k in sample]) if sample else \
      np.zeros((0, 4096), np.float32)
  out["face_speaker_ids"] = [k[3] for k in sample]
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


def evaluate(config, classifier=None, predict_fn=None, embedder=None,
             extra_results=None):
  """Runs every metric; writes results.json and report.html; returns results.

  Args:
    config: EvalConfig.
    classifier: attribute classifier (`classify(images)`); default: the
      dlib-models in `config.attribute_models` when given, else none.
    predict_fn: batch -> predicted features (default: the workdir's encoder
      on the batch's spectrogram; known-answer tests pass oracles).
    embedder: face recognizer for the identity metrics (`embed(images)`);
      default dlib's 128-D ResNet when a decoder is given.
    extra_results: more sections for results.json and the report (the
      demo's {'learning': voice_learning result}).
  """
  tf.io.gfile.makedirs(config.out_dir)
  model, train_cfg = speech_to_face.load_encoder(config.workdir)
  predict_fn = predict_fn or encoder_fn(model)
  segments = [float(s) for s in config.segments.split(",") if s]
  results = {"config": dataclasses.asdict(config),
             "train_config": dataclasses.asdict(train_cfg),
             "table2": {}, "table3": {}, "ablations": {}}
  figures = {}
  main = None
  for seconds in segments:
    key = f"{seconds:g}s"
    p = predict(predict_fn, config.test_pattern, seconds, config.batch_size,
                config.max_examples, config.image_samples, config.seed,
                config.feature_samples)
    results["table2"][key], results["table3"][key] = _tables(
        p["predicted"], p["true"], p["speaker_ids"], config)
    if main is None:  # the first segment's predictions feed the figures
      main = p
  results["examples"] = main["seen"]
  results["feature_samples"] = len(main["true"])
  results["speakers"] = len(set(main["speaker_ids"]))
  results["image_samples"] = len(main["faces"])

  if classifier is None and config.attribute_models:
    classifier = attributes.DlibAttributeClassifier(config.attribute_models)
  # The sampled true faces are classified once: agreement and balance.
  true_labels = classifier.classify(main["faces"]) if classifier else None
  sampled_speakers = main["face_speaker_ids"]
  decoder = None
  if config.decoder_path:
    _, decoder = frozen_heads.load_face_decoder(config.decoder_path)
  if decoder is not None:
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
    figures["examples"] = report.examples_figure(main["faces"][:8], f2f[:8],
                                                 s2f[:8])
    figures["retrieval"] = report.retrieval_figure(
        s2f[:4], [retrieval.top_k(q, main["face_true"], 5) for q in
                  main["face_predicted"][:4]], main["faces"],
        list(range(4)))
    embedder = embedder or identity.DlibFaceEmbedder()
    genders = true_labels.get("gender") if true_labels else None
    results["identity"] = identity.identity_metrics(
        embedder.embed(s2f), embedder.embed(main["faces"]), sampled_speakers,
        genders, config.seed, config.gallery_size, config.num_galleries)
    if classifier is not None:
      results["attributes"] = attributes.agreement_from_labels(
          true_labels, classifier.classify(s2f))
      figures["confusion"] = report.confusion_figure(results["attributes"])
  if classifier is not None:
    results["balance"] = {a: {c: labels.count(c) for c in sorted(set(labels))}
                          for a, labels in true_labels.items()}
    if "ethnicity" not in true_labels:
      results["ethnicity_note"] = attributes.ETHNICITY_HELP
  else:
    results["balance"] = {"speaker": {s: main["speaker_ids"].count(s) for s in
                                      sorted(set(main["speaker_ids"]))}}
  figures["balance"] = report.balance_figure(results["balance"])
  figures["tsne"] = report.tsne_figure(main["predicted"][:config.num_tsne],
                                       main["speaker_ids"][:config.num_tsne],
                                       config.seed)
  curves = report.learning_curves_figure(config.workdir)
  if curves:
    figures["curves"] = curves
  for item in filter(None, config.ablations.split(",")):
    name, workdir = item.split("=", 1)
    ablation_model, _ = speech_to_face.load_encoder(workdir)
    p = predict(encoder_fn(ablation_model), config.test_pattern, segments[0],
                config.batch_size, config.max_examples, 0, config.seed,
                config.feature_samples)
    table2, table3 = _tables(p["predicted"], p["true"], p["speaker_ids"],
                             config)
    results["ablations"][name] = {"table2": table2, "table3": table3}

  results.update(extra_results or {})
  with tf.io.gfile.GFile(os.path.join(config.out_dir, RESULTS_FILE), "w") as f:
    f.write(json.dumps(results, indent=2, default=float, allow_nan=False))
  html = report.render(results, figures)
  with tf.io.gfile.GFile(os.path.join(config.out_dir, REPORT_FILE), "w") as f:
    f.write(html)
  return results
