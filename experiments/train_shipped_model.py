r"""Retrains the model that ships with s2f, from the paper's public pairs and a folder of extra faces.

  python -m experiments.train_shipped_model --pairs_dir PAIRS \
      --extra_faces UTKFACE_DIR --out_dir WORK [--model_dir DIR]

Stages, each resumable (rerun the same command; finished shards, data
shards and checkpoints are kept):
1. speech/face shards of the committed split, the training speakers cut
   into `train` and `validation` (`real_pairs.validation_split`);
2. face-decoder data from the training speakers' frames, the GRID frames
   and every image under --extra_faces (never a held-out speaker's face);
3. the `small` face decoder (configs/face_decoder/shipped.json), then
   trained on with Cole et al.'s identity term through dlib's network in
   Keras (`IdentityTune`), then fine-tuned on the fitting clips' frames
   paired with the voice's cross-fitted predictions of them (`FineTune`;
   WORKSPACE.md);
4. the ge2e head's width, learning rate, steps and output scale, chosen on
   the validation speakers (`ge2e_head_selection`);
5. the head trained with Eq. 1 against the frozen decoder
   (configs/voice_encoder/ge2e.json + the choice);
6. the model folder (--model_dir, default the shipped one) and its model
   card with the real-pairs table on the held-out speakers.
Each stage's wall time is added to WORK/stage_seconds.json (over resumes).
`--tiny` is the same run in minutes, for tests: every 20th training clip,
14 held-out clips, 20 decoder steps (+ 2 with the identity term + 10
fine-tuning), one head candidate of 4 steps, 50 bootstrap samples.
"""

import dataclasses
import functools
import json
import os

from absl import app
from absl import flags

from s2f_tf import console
from s2f_tf import progress

HERE = os.path.dirname(os.path.abspath(__file__))
flags.DEFINE_string("pairs_dir", None, "The project page's pairs folder.",
                    required=True)
flags.DEFINE_string("extra_faces", "", "A folder of more face photos for the "
                    "decoder (e.g. UTKFace's crops).")
flags.DEFINE_string("grid_dir", os.path.join(HERE, "demo_data", "grid_av"),
                    "GRID clips whose middle frames the decoder also sees.")
flags.DEFINE_string("out_dir", None, "Work folder (shards, runs, tables).",
                    required=True)
flags.DEFINE_string("model_dir", "", "Model folder to write (default: the "
                    "shipped model's).")
flags.DEFINE_integer("decoder_steps", 0, "Face-decoder steps (0: "
                     "shipped.json's).")
flags.DEFINE_integer("workers", 2, "Processes for the data jobs.")
flags.DEFINE_bool("tiny", False, "A smoke run of minutes (tests): every "
                  "20th training clip, 14 held-out clips, 20 decoder steps, "
                  "one head candidate.")
FLAGS = flags.FLAGS
STAGE_FILE = "stage_seconds.json"


@dataclasses.dataclass(frozen=True)
class FineTune:
  """The decoder's fine-tuning on predicted features (WORKSPACE.md,
  "Decoder fine-tuned on predictions")."""

  # The head that predicts each fitting clip from the other folds' speakers:
  # the choice of every head selection so far (WORKSPACE.md).
  head: tuple = (("head_hidden", 512), ("learning_rate", 1e-3),
                 ("train_steps", 800))
  folds: int = 5  # Speaker folds of the fitting clips.
  seeds: int = 3  # Predictions per clip (a head per seed and fold).
  scale: float = 1.0  # Predictions spread about the mean by this factor.
  other_faces: int = 5000  # True-feature faces drawn from the rest.
  steps: int = 3000  # Steps after the decoder's own ...
  learning_rate: float = 1e-4  # ... at a tenth of its rate.


@dataclasses.dataclass(frozen=True)
class IdentityTune:
  """The decoder trained on with the identity term (WORKSPACE.md, "dlib's
  network in Keras": 300 steps at these values lifted face -> face R@1 on
  the validation speakers from 46.6 to 79.8 %)."""

  steps: int = 300  # Steps after the decoder's own (~0.35 steps/s here).
  weight: float = 0.3  # x (1 - cos) of dlib128 of the decoded face.
  jitter: float = 0.1  # The chip moved at random (face_chip.ChipSampler).
  learning_rate: float = 1e-4


@dataclasses.dataclass(frozen=True)
class Sizes:
  """What a run reads and tries (the defaults: the whole shipped run)."""

  train_stride: int = 1  # Every n-th training clip (spread over speakers).
  test_clips: int = 0  # The first n held-out clips (0: all).
  decoder_steps: int = 0  # 0: shipped.json's.
  selection_grid: dict = None  # None: ge2e_head_selection's own grid.
  bootstrap: int = 0  # 0: side_by_side's.
  fine_tune: FineTune = FineTune()
  identity: IdentityTune = IdentityTune()


TINY = Sizes(train_stride=20, test_clips=14, decoder_steps=20, bootstrap=50,
             selection_grid={"widths": (0,), "learning_rates": (1e-3,),
                             "steps": (4,), "scales": (1.0, 2.0)},
             fine_tune=FineTune(head=(("head_hidden", 0),
                                      ("learning_rate", 1e-3),
                                      ("train_steps", 4)),
                                folds=2, seeds=1, other_faces=8, steps=10),
             identity=IdentityTune(steps=2))

TEACHER = "dlib128"
ATTRIBUTE_MODELS = os.path.join(HERE, "demo_data", "models",
                                "dlib_age_gender")
CARD = """# s2f shipped model (ge2e backbone, dlib128 teacher)

An average-looking face correlated with a voice: not the speaker's face,
never an identity (Speech2Face, Sec. 2). Research use only.

- **Voice encoder**: the GE2E speaker encoder (Wan et al., ICASSP 2018;
  resemblyzer 0.1.4's weights, Apache-2.0, frozen) and a head trained with
  Eq. 1 against the frozen face decoder: {choice}.
- **Face decoder**: s2f's Cole et al. decoder, `small` widths, trained
  {decoder_steps} steps of {decoder_batch} on {faces} faces: the training
  speakers' frames of the paper's public pairs (YouTube content: research
  use only), nine GRID frames (CC BY 4.0) and UTKFace crops
  (non-commercial research use only). Then {identity_steps} steps with
  Cole et al.'s identity term (weight {identity_weight}, through dlib's
  network ported to Keras, its face chip jittered by {identity_jitter}).
  Then {fine_tune_steps} steps more
  on {fine_tune_examples} examples: the fitting clips' frames, each also
  paired with {predictions} features predicted from its voice by heads
  that never heard the speaker, and other faces of the set.
- **Face teacher**: dlib's 128-D descriptor (VGG-Face cannot be had
  offline).
- **Trained on**: {train} clips of the training speakers; choices made on
  {validation} clips of held-out training speakers; judged once on the
  {test} clips of the test speakers below.
- **Cannot**: recover anyone's face or identity; it reflects the speakers
  it learnt from (YouTube interview and lecture speakers).

## Sources and their terms

- The paper's public voice/face pairs (Speech2Face project page; AVSpeech
  and VoxCeleb clips, YouTube content): research and evaluation use only.
- GE2E speaker encoder weights (resemblyzer 0.1.4, Apache-2.0), trained by
  their author on LibriSpeech's training sets and VoxCeleb1 and 2: the
  test split's VoxCeleb1 "dev" celebrities may be among the speakers it
  heard; its AVSpeech speakers and VoxCeleb1 "test" celebrities are not.
- UTKFace face crops (public repository `mattans/AgeProgression`):
  non-commercial research use only.
- GRID corpus frames (nine speakers): CC BY 4.0.
- dlib's face-recognition network, 5-point shape predictor and HOG / CNN
  face detectors (dlib-models, public domain), installed by
  `face-recognition-models`.
- dlib's 68-point shape predictor (the decoder's landmarks), trained on
  iBUG 300-W, whose licence excludes commercial use: the model cannot be
  used in a commercial product.
- The CC0 age and gender networks (Cydral Technology, dlib-models), the
  instruments of the table below.

## On the held-out speakers (95 % speaker-bootstrap intervals)

{table}
"""


def main(argv):
  del argv
  console.require_path("pairs_dir", FLAGS.pairs_dir, "dir")
  if FLAGS.tiny and not FLAGS.model_dir:
    raise app.UsageError("--tiny needs --model_dir: a smoke run never "
                         "replaces the shipped model")
  # pylint: disable=g-import-not-at-top
  from data_prep import fine_tune_data
  from data_prep import prepare_decoder_data_lib
  from data_prep import prepare_shards_lib
  from data_prep import shard_options
  from experiments.evaluation import ge2e_head_selection
  from experiments.evaluation import pairs_table
  from experiments.evaluation import real_pairs
  from s2f_tf import face_decoder_trainer
  from s2f_tf import input_pipeline
  from s2f_tf import speech_to_face
  from s2f_tf import train_config
  from s2f_tf import voice_encoder_trainer
  from tfrecords_schema import shard_summary
  # pylint: enable=g-import-not-at-top
  out = FLAGS.out_dir
  os.makedirs(out, exist_ok=True)
  times = progress.StageTimes(os.path.join(out, STAGE_FILE))
  sizes = TINY if FLAGS.tiny else Sizes()
  train, test = real_pairs.split_specs(FLAGS.pairs_dir)
  train, test = train[::sizes.train_stride], test[:sizes.test_clips or None]
  fit, validation = real_pairs.validation_split(train)
  validation = [s._replace(split="validation") for s in validation]

  shards = prepare_shards_lib.run(
      fit + validation + test, shard_options.ShardOptions(
          output_dir=os.path.join(out, "shards"), examples_per_shard=128,
          teacher=TEACHER),
      prepare_shards_lib.model_loader(detector="hog_cnn", teacher=TEACHER),
      prepare_shards_lib.local_options(FLAGS.workers))["splits"]
  times.done("shards")

  photo_dir = os.path.join(out, "decoder_photos")
  real_pairs.decoder_photos(train, photo_dir, FLAGS.grid_dir,
                            FLAGS.extra_faces)
  faces = prepare_decoder_data_lib.run(
      photo_dir, prepare_decoder_data_lib.DecoderDataOptions(
          output_dir=os.path.join(out, "decoder_data"), teacher=TEACHER,
          examples_per_shard=512, flips=False),
      functools.partial(prepare_decoder_data_lib.load_models, "hog_cnn",
                        teacher=TEACHER), workers=FLAGS.workers)["examples"]
  times.done("decoder data")

  decoder_file = os.path.join(HERE, "configs", "face_decoder", "shipped.json")
  decoder_config = train_config.DecoderTrainConfig.load(decoder_file)
  decoder_steps = (FLAGS.decoder_steps or sizes.decoder_steps or
                   decoder_config.train_steps)
  decoder_path = face_decoder_trainer.train_from_file(
      decoder_file, os.path.join(out, "decoder_data"),
      os.path.join(out, "face_decoder"), decoder_steps)
  times.done("decoder training")

  identity = sizes.identity
  face_decoder_trainer.train(decoder_config.replace(
      data_dir=os.path.join(out, "decoder_data"),
      warm_start=os.path.join(out, "face_decoder"),
      train_steps=decoder_steps + identity.steps,
      learning_rate=identity.learning_rate,
      identity_weight=identity.weight, identity_jitter=identity.jitter),
                             os.path.join(out, "face_decoder_identity"))
  decoder_path = face_decoder_trainer.exported(
      os.path.join(out, "face_decoder_identity"))
  times.done("decoder identity term")

  fine_tune = sizes.fine_tune
  fine_tune_dir = os.path.join(out, "fine_tune_data")
  if shard_summary.read(fine_tune_dir) is None:
    predicted = ge2e_head_selection.cross_fitted_predictions(
        os.path.join(out, "shards"), decoder_path, dict(fine_tune.head),
        fine_tune.folds, fine_tune.seeds)
    frames = {spec.clip_id: real_pairs.decoder_photo_id(spec) for spec in fit}
    fine_tune_data.write(
        os.path.join(out, "decoder_data"),
        {frames[clip]: p for clip, p in predicted.items()}, fine_tune_dir,
        fine_tune.other_faces, real_pairs.PAIRS_PHOTOS + os.sep,
        fine_tune.scale, input_pipeline.mean_feature(
            shards["train"]["pattern"], TEACHER))
  fine_tuned = os.path.join(out, "face_decoder_fine_tuned")
  face_decoder_trainer.train(decoder_config.replace(
      data_dir=fine_tune_dir,
      warm_start=os.path.join(out, "face_decoder_identity"),
      train_steps=decoder_steps + identity.steps + fine_tune.steps,
      learning_rate=fine_tune.learning_rate), fine_tuned)
  decoder_path = face_decoder_trainer.exported(fine_tuned)
  fine_tune_examples = shard_summary.read(fine_tune_dir)["examples"]
  times.done("decoder fine-tuning")

  selection_file = os.path.join(out, "selection.json")
  if os.path.isfile(selection_file):
    with open(selection_file) as f:
      selection = json.load(f)
  else:
    selection = ge2e_head_selection.select(
        os.path.join(out, "shards"), decoder_path, ATTRIBUTE_MODELS,
        workers=FLAGS.workers, **(sizes.selection_grid or {}))
    with open(selection_file, "w") as f:
      json.dump(selection, f, indent=2)
  choice = selection["choice"]
  times.done("head selection")

  encoder_config = train_config.TrainConfig.load(os.path.join(
      HERE, "configs", "voice_encoder", "ge2e.json")).replace(
          train_pattern=shards["train"]["pattern"], decoder_path=decoder_path,
          head_hidden=choice["head_hidden"],
          learning_rate=choice["learning_rate"],
          train_steps=choice["train_steps"])
  encoder_run = os.path.join(out, "voice_encoder")
  voice_encoder_trainer.train(encoder_config, encoder_run)
  times.done("head training")

  model_dir = FLAGS.model_dir or speech_to_face.SHIPPED_MODEL_DIR
  speech_to_face.package_model(
      encoder_run, decoder_path, model_dir,
      output_scale=choice["output_scale"],
      feature_mean=input_pipeline.mean_feature(shards["train"]["pattern"],
                                               TEACHER))
  result, figures = real_pairs.run(
      model_dir, "", FLAGS.pairs_dir, ATTRIBUTE_MODELS,
      shards["train"]["pattern"], workers=FLAGS.workers,
      limit=sizes.test_clips,
      **({"bootstrap": sizes.bootstrap} if sizes.bootstrap else {}))
  eval_dir = os.path.join(out, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  with open(os.path.join(eval_dir, real_pairs.RESULT_FILE), "w") as f:
    json.dump(result, f, indent=2, default=float)
  table = pairs_table.markdown_table(result)
  import cv2  # pylint: disable=g-import-not-at-top
  for name, image in figures.items():
    cv2.imwrite(os.path.join(eval_dir, f"real_pairs_{name}.png"),
                cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
  with open(os.path.join(model_dir, "MODEL_CARD.md"), "w") as f:
    f.write(CARD.format(
        choice=json.dumps(choice), faces=faces, decoder_steps=decoder_steps,
        fine_tune_steps=fine_tune.steps, identity_steps=identity.steps,
        identity_weight=identity.weight, identity_jitter=identity.jitter,
        fine_tune_examples=fine_tune_examples, predictions=fine_tune.seeds,
        decoder_batch=decoder_config.batch_size,
        train=shards["train"]["examples"],
        validation=shards["validation"]["examples"],
        test=shards["test"]["examples"], table=table))
  times.done("package and table")
  print(table)
  print(f"\nModel folder {model_dir}")


def run():
  console.run(main, __doc__)


if __name__ == "__main__":
  run()
