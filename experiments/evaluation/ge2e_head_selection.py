"""Choosing the ge2e encoder's head on validation speakers: cached d-vectors, heads trained with Eq. 1, scored in the teacher's space.

The library of `select_ge2e_head` (and of `train_shipped_model`): see the
binary's docstring for the protocol. The backbone is frozen, so each clip's
GE2E d-vector (of the training segment, as the trainer sees it) is computed
once and cached; `select` never reads the test split. `seed_spread` (binary
`ge2e_seed_spread`) retrains the chosen head with several seeds and judges
each once on a split: the spread the recipe gives.
"""

import itertools
import json
import os

import numpy as np

from tfrecords_schema import face_teacher

TEACHER = face_teacher.DLIB128


def read_split(pattern, cache, segment_seconds):
  """{'dvector', 'feature', 'speaker', 'face', 'clip'} of every clip of
  `pattern`;
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
  out = {"dvector": [], "feature": [], "speaker": [], "face": [],
         "clip": []}
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
    out["clip"].append(example["clip_id"].numpy().decode())
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


# The candidate grid (select_ge2e_head's flag defaults).
WIDTHS = (0, 256, 512)
LEARNING_RATES = (3e-4, 1e-3)
STEPS = (100, 200, 400, 800, 1500)
SCALES = (1.0, 1.5, 2.0, 2.5, 3.0)
SEEDS = (0, 1, 2)


class _Setup:
  """What choosing or judging a head needs: the training clips' cached
  d-vectors and features, the clips it is scored on (`split`), the frozen
  decoder, and the readers of the teacher's space and of images."""

  def __init__(self, shards, decoder_path, attribute_models, split, workers,
               cache):
    from experiments.evaluation import real_pairs  # pylint: disable=g-import-not-at-top
    from s2f_tf import frozen_heads  # pylint: disable=g-import-not-at-top
    from s2f_tf.audio import audio_format  # pylint: disable=g-import-not-at-top
    from s2f_tf.metrics import feature_space  # pylint: disable=g-import-not-at-top
    with open(os.path.join(shards, "summary.json")) as f:
      splits = json.load(f)["splits"]
    if split not in splits:
      raise ValueError(f"{shards} has no {split} split: make the shards "
                       "with pairs_data.validation_split's speakers")
    cache = cache or os.path.join(shards, "ge2e_dvectors_{}.npz")
    self.fit = read_split(splits["train"]["pattern"], cache.format("train"),
                          audio_format.CLIP_SECONDS)
    self.clips = read_split(splits[split]["pattern"], cache.format(split),
                            audio_format.CLIP_SECONDS)
    self.decoder_fc, self.decoder = frozen_heads.load_face_decoder(
        decoder_path, teacher=TEACHER)
    self.attribute_models, self.workers = attribute_models, workers
    with real_pairs.Readers(attribute_models, workers) as readers:
      fit_read = readers.read({"fit": self.fit["face"]}, embed=False)["fit"]
      self.true = readers.read({"clips": self.clips["face"]})["clips"]
    self.reader = feature_space.FeatureReader(
        self.fit["feature"], fit_read["gender"], fit_read["age"])
    # Teacher space: the clips' own features are the truth.
    self.true_feature = dict(self.true, embedding=self.clips["feature"])
    self.speakers = self.clips["speaker"]
    self.mean = self.fit["feature"].mean(0)

  def head(self, width, learning_rate, steps, batch_size, seed):
    """{step: predicted features of the clips} of one head."""
    return train_head(self.fit["dvector"], self.fit["feature"], int(width),
                      float(learning_rate), steps, self.decoder_fc,
                      lambda head: np.asarray(head(self.clips["dvector"])),
                      batch_size, seed)

  def feature_score(self, predicted):
    return score(self.reader.read(predicted), self.true_feature,
                 self.speakers)

  def image_scores(self, predicted, scales):
    """[score of the decoded images] per output scale."""
    from experiments.evaluation import evaluation_lib  # pylint: disable=g-import-not-at-top
    from experiments.evaluation import real_pairs  # pylint: disable=g-import-not-at-top
    out = []
    with real_pairs.Readers(self.attribute_models, self.workers) as readers:
      for scale in (float(k) for k in scales):
        images = evaluation_lib.decode_images(self.decoder, (
            self.mean + scale * (predicted - self.mean)).astype(np.float32))
        read = readers.read({"images": list(images)})["images"]
        out.append({"output_scale": scale,
                    **score(read, self.true, self.speakers)})
    return out


def select(shards, decoder_path, attribute_models, widths=WIDTHS,
           learning_rates=LEARNING_RATES, steps=STEPS, scales=SCALES,
           batch_size=32, seed=0, workers=2, cache=""):
  """Every candidate's validation scores and the choice (see module)."""
  setup = _Setup(shards, decoder_path, attribute_models, "validation",
                 workers, cache)
  steps = sorted(int(s) for s in steps)
  results = []
  for width, lr in itertools.product(widths, learning_rates):
    for s, predicted in setup.head(width, lr, steps, batch_size,
                                   seed).items():
      entry = {"head_hidden": int(width), "learning_rate": float(lr),
               "train_steps": s, **setup.feature_score(predicted)}
      results.append(entry)
      print(json.dumps(entry), flush=True)
  best = max(results, key=lambda e: e["score"])
  # The spread over initialisation and batch-order seeds of the choice.
  seeds = []
  for other in (seed, seed + 1, seed + 2):
    predicted = setup.head(best["head_hidden"], best["learning_rate"],
                           [best["train_steps"]], batch_size, other)[
                               best["train_steps"]]
    seeds.append({"seed": other, **setup.feature_score(predicted)})
    if other == seed:
      chosen_prediction = predicted
    print(json.dumps(seeds[-1]), flush=True)
  scale_scores = setup.image_scores(chosen_prediction, scales)
  for entry in scale_scores:
    print(json.dumps(entry), flush=True)
  chosen = max(scale_scores, key=lambda e: e["score"])
  choice = {"head_hidden": best["head_hidden"],
            "learning_rate": best["learning_rate"],
            "train_steps": best["train_steps"],
            "output_scale": chosen["output_scale"]}
  return {"candidates": results, "seeds": seeds, "scales": scale_scores,
          "choice": choice, "fit_clips": len(setup.fit["speaker"]),
          "validation_clips": len(setup.speakers)}


def speaker_folds(speakers, folds, seed=0):
  """Fold index of each clip: speakers dealt to `folds` folds in a seeded
  random order, every clip of a speaker in its speaker's fold."""
  unique = sorted(set(speakers))
  np.random.RandomState(seed).shuffle(unique)
  fold_of = {speaker: i % folds for i, speaker in enumerate(unique)}
  return np.array([fold_of[s] for s in speakers], np.int64)


def cross_fitted(x, y, speakers, choice, decoder_fc, folds=5, seeds=1,
                 batch_size=32):
  """[seeds, clips, dim] predictions of the training clips' features by
  heads of `choice` that never saw the clip's speaker: each fold's clips
  are predicted by a head trained on the other folds (a new initialisation
  and batch order per seed and fold). What a head trained on every clip
  gives for a new speaker, for clips whose true face is known."""
  fold = speaker_folds(speakers, folds)
  steps = int(choice["train_steps"])
  out = np.zeros((seeds,) + y.shape, np.float32)
  for seed in range(seeds):
    for k in range(folds):
      held = fold == k
      out[seed, held] = train_head(
          x[~held], y[~held], int(choice["head_hidden"]),
          float(choice["learning_rate"]), [steps], decoder_fc,
          lambda head, held=held: np.asarray(head(x[held])), batch_size,
          seed * folds + k)[steps]
  return out


def cross_fitted_predictions(shards, decoder_path, choice, folds=5, seeds=1,
                             cache=""):
  """{clip id: [seeds, dim]} of `cross_fitted` for the shards' `train`
  split (the validation and test splits are not read)."""
  from s2f_tf import frozen_heads  # pylint: disable=g-import-not-at-top
  from s2f_tf.audio import audio_format  # pylint: disable=g-import-not-at-top
  with open(os.path.join(shards, "summary.json")) as f:
    pattern = json.load(f)["splits"]["train"]["pattern"]
  cache = cache or os.path.join(shards, "ge2e_dvectors_{}.npz")
  fit = read_split(pattern, cache.format("train"), audio_format.CLIP_SECONDS)
  decoder_fc, _ = frozen_heads.load_face_decoder(decoder_path,
                                                 teacher=TEACHER)
  predicted = cross_fitted(fit["dvector"], fit["feature"], fit["speaker"],
                           choice, decoder_fc, folds, seeds)
  return {clip: predicted[:, i] for i, clip in enumerate(fit["clip"])}


def seed_spread(shards, decoder_path, attribute_models, choice, split="test",
                seeds=SEEDS, batch_size=32, workers=2, cache=""):
  """The chosen head (`choice`, as `select` returns it) retrained with each
  of `seeds` and judged on `split`, once per seed: its faces (decoded at
  the chosen output scale) and its predicted features, by the same scores.
  The spread of what one recipe gives, not a model choice: nothing here
  is picked."""
  setup = _Setup(shards, decoder_path, attribute_models, split, workers,
                 cache)
  steps = int(choice["train_steps"])
  out = []
  for seed in seeds:
    predicted = setup.head(choice["head_hidden"], choice["learning_rate"],
                           [steps], batch_size, int(seed))[steps]
    out.append({"seed": int(seed),
                "image": setup.image_scores(predicted,
                                            [choice["output_scale"]])[0],
                "feature": setup.feature_score(predicted)})
    print(json.dumps(out[-1]), flush=True)
  return {"split": split, "clips": len(setup.speakers), "choice": choice,
          "seeds": out}
