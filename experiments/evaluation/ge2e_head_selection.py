"""Choosing the ge2e encoder's head on validation speakers: cached d-vectors, heads trained with Eq. 1, scored in the teacher's space.

The library of `select_ge2e_head` (and of `train_shipped_model`): see the
binary's docstring for the protocol. The backbone is frozen, so each clip's
GE2E d-vector (of the training segment, as the trainer sees it) is computed
once and cached; the test split is never read.
"""

import itertools
import json
import os

import numpy as np

TEACHER = "dlib128"


def read_split(pattern, cache, segment_seconds):
  """{'dvector', 'feature', 'speaker', 'face'} of every clip of `pattern`;
  d-vectors from `cache` when it holds this split."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from experiments.evaluation import real_pairs  # pylint: disable=g-import-not-at-top
  from s2f_tf import progress  # pylint: disable=g-import-not-at-top
  from s2f_tf.audio import spectrogram  # pylint: disable=g-import-not-at-top
  from s2f_tf.models import ge2e  # pylint: disable=g-import-not-at-top
  from tfrecords_schema import speech_face  # pylint: disable=g-import-not-at-top
  files = sorted(tf.io.gfile.glob(pattern))
  records = list(tf.data.TFRecordDataset(files))
  cached = None
  if cache and os.path.isfile(cache):
    with np.load(cache) as npz:
      cached = npz["dvector"] if len(npz["dvector"]) == len(records) else None
  dvector = tf.function(ge2e.pretrained(), input_signature=[
      tf.TensorSpec([1, None], tf.float32)])
  out = {"dvector": [], "feature": [], "speaker": [], "face": []}
  bar = progress.Progress(len(records), name=f"clips of {pattern}")
  for index, record in enumerate(records):
    example = speech_face.decode(record, TEACHER)
    if cached is None:
      segment = spectrogram.repeat_to_length(
          example["waveform"].numpy(), spectrogram.num_samples(
              segment_seconds))
      out["dvector"].append(dvector(segment[None]).numpy()[0])
    out["feature"].append(example["fc7"].numpy())
    out["speaker"].append(example["speaker_id"].numpy().decode())
    out["face"].append(real_pairs.face_crop(example))
    bar.update()
  out["dvector"] = cached if cached is not None else np.stack(out["dvector"])
  out["feature"] = np.stack(out["feature"])
  if cache:
    np.savez(cache, dvector=out["dvector"])
  return out


def train_head(x, y, width, learning_rate, score_steps, decoder_fc, predict,
               batch_size=32, seed=0):
  """Trains one head on cached d-vectors with Eq. 1; {step: predict(head)}."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from s2f_tf.losses import speech2face_loss  # pylint: disable=g-import-not-at-top
  from s2f_tf.models import ge2e_encoder  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(seed)
  head = keras.Sequential([keras.Input((x.shape[1],))] + ge2e_encoder.head_layers(
      y.shape[1], width, zero_init_output=True))
  # The trainer's Adam (Sec. 4's beta1 and epsilon).
  optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5, epsilon=1e-4)
  loss = speech2face_loss.Speech2FaceLoss(decoder_fc, None)

  @tf.function
  def step(xb, yb):
    with tf.GradientTape() as tape:
      total = loss(yb, head(xb, training=True))["total"]
    grads = tape.gradient(total, head.trainable_variables)
    optimizer.apply_gradients(zip(grads, head.trainable_variables))

  rng = np.random.RandomState(seed)
  out, order = {}, np.zeros(0, np.int64)
  for s in range(1, max(score_steps) + 1):
    if len(order) < batch_size:  # epochs of random order, no clip twice
      order = np.concatenate([order, rng.permutation(len(x))])
    batch, order = order[:batch_size], order[batch_size:]
    step(x[batch].astype(np.float32), y[batch].astype(np.float32))
    if s in score_steps:
      out[s] = predict(head)
  return out


def score(readings, true, speakers):
  """(gender agreement %, 1:2 %, their mean) of readings against `true`."""
  from s2f_tf.metrics import side_by_side  # pylint: disable=g-import-not-at-top
  scores = side_by_side.clip_scores(readings, true, speakers)
  gender = float(np.nanmean(scores["gender_agreement"]))
  matching = float(np.nanmean(scores["matching"]))
  return {"gender_agreement": gender, "matching": matching,
          "score": (gender + matching) / 2.0}


def select(shards, decoder_path, attribute_models, widths=(0, 256, 512),
           learning_rates=(3e-4, 1e-3), steps=(100, 200, 400, 800, 1500),
           scales=(1.0, 1.25, 1.5, 2.0), batch_size=32, seed=0, workers=2,
           cache=""):
  """Every candidate's validation scores and the choice (see module)."""
  from experiments.evaluation import evaluation_lib  # pylint: disable=g-import-not-at-top
  from experiments.evaluation import real_pairs  # pylint: disable=g-import-not-at-top
  from s2f_tf import frozen_heads  # pylint: disable=g-import-not-at-top
  from s2f_tf.audio import audio_format  # pylint: disable=g-import-not-at-top
  from s2f_tf.metrics import feature_space  # pylint: disable=g-import-not-at-top
  with open(os.path.join(shards, "summary.json")) as f:
    splits = json.load(f)["splits"]
  if "validation" not in splits:
    raise ValueError(f"{shards} has no validation split: make the shards "
                     "with real_pairs.validation_split's speakers")
  cache = cache or os.path.join(shards, "ge2e_dvectors_{}.npz")
  fit = read_split(splits["train"]["pattern"], cache.format("train"),
                   audio_format.CLIP_SECONDS)
  val = read_split(splits["validation"]["pattern"],
                   cache.format("validation"), audio_format.CLIP_SECONDS)
  decoder_fc, decoder = frozen_heads.load_face_decoder(decoder_path,
                                                       teacher=TEACHER)
  with real_pairs.Readers(attribute_models, workers) as readers:
    fit_read = readers.read({"fit": fit["face"]}, embed=False)["fit"]
    val_true = readers.read({"val": val["face"]})["val"]
  reader = feature_space.FeatureReader(fit["feature"], fit_read["gender"],
                                       fit_read["age"])
  # Teacher space: the validation faces' own features are the truth.
  val_true_feature = dict(val_true, embedding=val["feature"])
  speakers = val["speaker"]
  steps = sorted(int(s) for s in steps)
  predict = lambda head: np.asarray(head(val["dvector"]))
  results = []
  for width, lr in itertools.product(widths, learning_rates):
    predictions = train_head(fit["dvector"], fit["feature"], int(width),
                             float(lr), steps, decoder_fc, predict,
                             batch_size, seed)
    for s, predicted in predictions.items():
      entry = {"head_hidden": int(width), "learning_rate": float(lr),
               "train_steps": s, **score(reader.read(predicted),
                                         val_true_feature, speakers)}
      results.append(entry)
      print(json.dumps(entry), flush=True)
  best = max(results, key=lambda e: e["score"])
  # The spread over initialisation and batch-order seeds of the choice.
  seeds = []
  for other in (seed, seed + 1, seed + 2):
    predicted = train_head(fit["dvector"], fit["feature"], best["head_hidden"],
                           best["learning_rate"], [best["train_steps"]],
                           decoder_fc, predict, batch_size, other)[
                               best["train_steps"]]
    seeds.append({"seed": other, **score(reader.read(predicted),
                                         val_true_feature, speakers)})
    if other == seed:
      chosen_prediction = predicted
    print(json.dumps(seeds[-1]), flush=True)
  mean = fit["feature"].mean(0)
  scale_scores = []
  with real_pairs.Readers(attribute_models, workers) as readers:
    for scale in (float(k) for k in scales):
      images = evaluation_lib.decode_images(decoder, (
          mean + scale * (chosen_prediction - mean)).astype(np.float32))
      read = readers.read({"images": list(images)})["images"]
      entry = {"output_scale": scale, **score(read, val_true, speakers)}
      scale_scores.append(entry)
      print(json.dumps(entry), flush=True)
  chosen = max(scale_scores, key=lambda e: e["score"])
  choice = {"head_hidden": best["head_hidden"],
            "learning_rate": best["learning_rate"],
            "train_steps": best["train_steps"],
            "output_scale": chosen["output_scale"]}
  return {"candidates": results, "seeds": seeds, "scales": scale_scores,
          "choice": choice, "fit_clips": len(fit["speaker"]),
          "validation_clips": len(speakers)}
