"""Choosing the ge2e encoder's head on validation speakers: cached d-vectors, heads trained with Eq. 1, scored in the teacher's space.

The library of `select_ge2e_head` (and of `train_shipped_model`): see the
binary's docstring for the protocol. The backbone is frozen, so each clip's
GE2E d-vector is computed once and cached (`data_prep/split_dvectors`) and
each candidate head trains on them through the one training loop
(`s2f_tf/dvector_head_trainer`); `select` never reads the test split. `seed_spread` (binary
`ge2e_seed_spread`) retrains the chosen head with several seeds and judges
each once on a split: the spread the recipe gives.
"""

import itertools
import json
import os

import numpy as np

from data_prep import split_dvectors
from tfrecords_schema import face_teacher

TEACHER = face_teacher.DLIB128


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
    self.fit, self.clips = (split_dvectors.read_split(
        splits[name]["pattern"], split_dvectors.cache_path(shards, name, cache),
        audio_format.CLIP_SECONDS, TEACHER) for name in ("train", split))
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
    from s2f_tf import dvector_head_trainer  # pylint: disable=g-import-not-at-top
    return dvector_head_trainer.train_head(
        self.fit["dvector"], self.fit["feature"], int(width),
        float(learning_rate), steps, self.decoder_fc,
        lambda head: np.asarray(head(self.clips["dvector"])), batch_size, seed,
        TEACHER)

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
