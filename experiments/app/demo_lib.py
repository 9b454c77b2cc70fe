"""The main job: the whole s2f pipeline on real data, on a CPU, in minutes.

media (GRID talking faces; plus artificial FSDD voice/photo pairs) -> shard
job -> face-decoder data + training -> voice-encoder training -> predict ->
evaluation report. Tiny models and few steps: this demonstrates that the
pipeline runs end to end; it does not reproduce the paper (see
experiments/TRAINING.md, "Paper-scale training").
"""

import dataclasses
import glob
import json
import os
import time

from absl import logging

from data_prep import clip_sources
from data_prep import prepare_decoder_data_lib
from data_prep import prepare_shards_lib
from data_prep import shard_options
from experiments.app import stage_pipeline
from experiments.app import demo_media
from experiments.evaluation import eval_config
from experiments.evaluation import evaluation_lib
from experiments.evaluation import pairs_table
from data_prep import pairs_data
from experiments.evaluation import real_pairs
from experiments.evaluation import report
from experiments.evaluation import voice_learning
from s2f_tf import face_decoder_trainer
from s2f_tf import progress
from s2f_tf import speech_to_face
from s2f_tf import train_config
from s2f_tf import voice_encoder_trainer
from s2f_tf.metrics import side_by_side

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data")
CONFIGS = os.path.join(REPO_ROOT, "experiments", "configs")
# Small real samples whose licences allow shipping them (README there).
EMBEDDED_DATA = os.path.join(REPO_ROOT, "experiments", "demo_data")
LEARNING_FILE = "learning.json"
# (encoder steps, decoder steps, decoder photos) for --quick and the full demo
# (the full demo's steps are those of configs/*/demo.json).
QUICK = (30, 60, 12)
FULL = (400, 600, 63)
# The demo's detector: HOG finds every face of its data (GRID frames, the
# photos) at a fraction of the CNN's cost on a CPU.
DETECTOR = "hog"
# The project page's frames include turned and cut-off faces that HOG misses
# (15 %); the CNN finds them.
PAIRS_DETECTOR = "hog_cnn"
STAGES = ("media", "shards", "face-decoder data", "face-decoder training",
          "voice-encoder training", "predict", "learning result",
          "evaluation")
# Seconds per stage measured on 2 cores, for the ETA; the estimate is
# rescaled by how fast this machine has been so far. The small demos were
# timed on a CPU with AVX-512; the real-pairs demo (GE2E head, the default)
# on a 2-core AMD EPYC without it: 28 min 40 s (experiments/DEMO.md).
MEASURED_SECONDS = {"quick": (2, 8, 8, 10, 10, 2, 0, 15),
                    "full": (3, 45, 25, 40, 150, 3, 25, 40),
                    "real": (1, 272, 94, 684, 103, 5, 387, 180)}
MEASURED_WITH_AVX512 = {"quick": True, "full": True, "real": False}
MIN_TIMED_SECONDS = 30
# TensorFlow's kernels run slower without AVX-512: the Table 1 real-pairs
# demo took 29.5 min on a 2-core CPU with it and 1 h 40 min on a 2-core AMD
# EPYC without it (issue #24): 3.4x.
NO_AVX512_FACTOR = 3.4
CPUINFO = "/proc/cpuinfo"


def cpu_has_avx512(cpuinfo=CPUINFO):
  """True / False from the CPU's flags (Linux); None when they cannot be
  read."""
  try:
    with open(cpuinfo) as f:
      for line in f:
        if line.startswith("flags"):
          return "avx512f" in line.split(":", 1)[1].split()
  except OSError:
    pass
  return None
REAL_STAGES = ("pairs", "shards", "face-decoder data",
               "face-decoder training", "voice-encoder training", "predict",
               "side-by-side table", "evaluation")
ATTRIBUTE_MODELS = os.path.join("models", "dlib_age_gender")

DISCLAIMER = """
This demo trains tiny models for a few minutes on {examples} clips{random}.
It shows that every stage of s2f runs end to end{learned}; the faces it makes
are not meaningful. Paper-scale training needs AVSpeech (1.7 M clips), the
released VGG-Face weights and accelerators: see experiments/TRAINING.md,
"Paper-scale training". Every face is an average-looking face correlated with a voice,
never an identity.""".strip()


class StageClock:
  """Prints each finished stage with elapsed time and an ETA."""

  def __init__(self, mode, avx512=None):
    self.expected = MEASURED_SECONDS[mode]
    self.stages = REAL_STAGES if mode == "real" else STAGES
    avx512 = cpu_has_avx512() if avx512 is None else avx512
    baseline = MEASURED_WITH_AVX512[mode]
    same = avx512 is None or avx512 == baseline
    factor = 1.0 if same else (NO_AVX512_FACTOR if baseline
                               else 1 / NO_AVX512_FACTOR)
    measured_on = "with" if baseline else "without"
    cpu = ("this CPU's flags could not be read: " if avx512 is None else
           f"this CPU {'has' if avx512 else 'lacks'} AVX-512: ")
    cpu += (f"the time measured on a CPU {measured_on} it" if same else
            f"{factor:.2g}x the time measured on a CPU {measured_on} it")
    self.start_line = (
        f"demo: {len(self.stages)} stages, expected to take about "
        f"{progress.format_duration(sum(self.expected) * factor)} on 2 "
        f"cores ({cpu}); the estimate is updated after each stage")
    print(self.start_line, flush=True)
    self.started = time.perf_counter()
    self.done = 0

  def finish(self, note=""):
    elapsed = time.perf_counter() - self.started
    name = self.stages[self.done]
    self.done += 1
    spent = sum(self.expected[:self.done])
    # Rescaled by this machine's speed once enough has been timed (a
    # one-second first stage would scale the rest by its noise).
    scale = elapsed / spent if spent >= MIN_TIMED_SECONDS else 1.0
    left = sum(self.expected[self.done:]) * scale
    line = (f"[{self.done}/{len(self.stages)}] {name} done"
            + (f": {note}" if note else "")
            + f" | {progress.format_duration(elapsed)} elapsed"
            + (f", ~{progress.format_duration(left)} to go"
               if self.done < len(self.stages) else ""))
    logging.info("demo: %s", line)
    print(line, flush=True)


@dataclasses.dataclass(frozen=True)
class DemoData:
  """Every input of the demo, resolved once (`resolve`); the stages read
  only this.

  root: the real-data folder (--data_dir, default ../shared/data).
  grid: the folder holding grid_av/ (root, else s2f's embedded copy).
  attribute_models: the CC0 age / gender networks ('' when absent).
  face_photos: root/faces/img*.jpg (the small demo's decoder photos).
  fsdd: the FSDD voices are there (the small demo's learning experiment).
  pairs: the project-page pairs (--pairs_dir or root/speech2face_examples),
    '' when absent.
  extra_faces: more decoder photos (--extra_faces).
  vgg_face_weights: a local VGG-Face file ('' = dlib128 / random stand-in).
  """

  root: str
  grid: str
  attribute_models: str
  face_photos: tuple
  fsdd: bool
  pairs: str
  extra_faces: str = ""
  vgg_face_weights: str = ""


def _embedded_or(root, relative):
  """root/relative when it is there, else s2f's embedded copy
  (EMBEDDED_DATA: the GRID clips, CC BY 4.0; the CC0 age/gender networks),
  else ''. Returns the folder that holds `relative`."""
  for folder in (root, EMBEDDED_DATA):
    if os.path.exists(os.path.join(folder, relative)):
      return folder
  return ""


def resolve(data_dir="", pairs_dir="", extra_faces="", vgg_face_weights=""):
  """The demo's DemoData from its flags."""
  root = data_dir or DEFAULT_DATA_DIR
  models = _embedded_or(root, ATTRIBUTE_MODELS)
  examples = os.path.join(root, real_pairs.EXAMPLES_SUBDIR)
  return DemoData(
      root=root, grid=_embedded_or(root, "grid_av"),
      attribute_models=os.path.join(models, ATTRIBUTE_MODELS) if models
      else "",
      face_photos=tuple(sorted(glob.glob(os.path.join(root, "faces",
                                                      "img*.jpg")))),
      fsdd=os.path.isdir(os.path.join(root, "speech_fsdd")),
      pairs=pairs_dir or (examples if os.path.isdir(examples) else ""),
      extra_faces=extra_faces, vgg_face_weights=vgg_face_weights)


def _media(data, out_dir, learning):
  """Stage 1: talking-face clips (GRID; plus the FSDD pairs); specs."""
  media_dir = os.path.join(out_dir, "media")
  demo_media.grid_clips(data.grid, media_dir)
  specs = clip_sources.video_folder(media_dir)
  if learning:
    specs += voice_learning.media_specs(
        data.root, os.path.join(out_dir, "fsdd_voices"),
        os.path.join(out_dir, "fsdd_faces"))
  return media_dir, specs


def _shards(specs, out_dir, vgg_face_weights):
  """Stage 2: the shard job; (summary, train pattern, test split stats)."""
  loader = prepare_shards_lib.model_loader(
      detector=DETECTOR, vgg_face_weights_path=vgg_face_weights,
      allow_random_vgg_face=not vgg_face_weights)
  summary = prepare_shards_lib.run(
      specs, shard_options.ShardOptions(
          output_dir=os.path.join(out_dir, "shards"), test_fraction=0.2,
          examples_per_shard=16), loader)
  test = summary["splits"].get("test", {"examples": 0})
  return summary, summary["splits"]["train"]["pattern"], test


def _decoder_data(data, out_dir, photos):
  """Stage 3: face photos (data.face_photos, else the GRID speakers'
  frames) -> the face decoder's data; its directory."""
  photo_dir = os.path.join(out_dir, "decoder_photos")
  os.makedirs(photo_dir, exist_ok=True)
  if not data.face_photos:
    pairs_data.decoder_photos([], photo_dir,
                              os.path.join(data.grid, "grid_av"))
  for path in data.face_photos[:photos]:
    target = os.path.join(photo_dir, os.path.basename(path))
    if not os.path.exists(target):
      os.symlink(os.path.abspath(path), target)
  decoder_data = os.path.join(out_dir, "decoder_data")
  prepare_decoder_data_lib.run(
      photo_dir, prepare_decoder_data_lib.DecoderDataOptions(
          output_dir=decoder_data),
      lambda: prepare_decoder_data_lib.load_models(
          DETECTOR, vgg_face_weights_path=data.vgg_face_weights,
          allow_random_vgg_face=not data.vgg_face_weights))
  return decoder_data


def _train_decoder(decoder_data, out_dir, steps):
  """Stage 4: the face decoder (configs/face_decoder/demo.json); its export."""
  return face_decoder_trainer.train_from_file(
      os.path.join(CONFIGS, "face_decoder", "demo.json"), decoder_data,
      os.path.join(out_dir, "face_decoder"), steps)


def _train_encoder(train_pattern, test_pattern, decoder_path, out_dir, steps,
                   vgg_face_weights):
  """Stage 5: the voice encoder (configs/voice_encoder/demo.json)."""
  config = train_config.TrainConfig.load(
      os.path.join(CONFIGS, "voice_encoder", "demo.json")).replace(
          train_pattern=train_pattern, eval_pattern=test_pattern,
          train_steps=steps, decoder_path=decoder_path,
          fc8_weights=vgg_face_weights)
  run = os.path.join(out_dir, "voice_encoder")
  voice_encoder_trainer.train(config, run)
  return config, run


def _print_summary(results, learned, examples, segment_seconds, random_vgg,
                   face_png, report, out_dir):
  print()
  if learned:
    print("\n".join(voice_learning.summary_lines(learned)))
  gallery = results["table3"][f"{segment_seconds:g}s"]["gallery"]
  print("Test split retrieval (speakers unseen in training"
        + (" + held-out FSDD utterances" if learned else "")
        + f"; far too few speakers to mean anything): cosine R@1 "
        f"{gallery['cosine'][1]:.1f} % in galleries of "
        f"{gallery['gallery_size']} (chance {gallery['chance'][1]:.1f} %)")
  print("\n" + DISCLAIMER.format(
      examples=examples,
      random=" and a RANDOM stand-in for VGG-Face (no weights given)"
      if random_vgg else "",
      learned=" and that the voice encoder learns from real voices (above)"
      if learned else ""))
  print(f"\nPredicted face:  {face_png}\nReport:          {report}\n"
        f"TensorBoard:     tensorboard --logdir {out_dir}")
  _print_next(os.path.join(out_dir, "voice_encoder"))


def _print_next(encoder_run):
  print(f"Model:           {encoder_run}\nNext:            s2f predict "
        f"--checkpoint {encoder_run} --audio YOUR.wav --out face.png")


def run_demo(out_dir, data, quick=False, encoder_steps=0, encoder="ge2e"):
  """Runs the main job into `out_dir` from `data` (a DemoData); returns a
  dict of what it wrote.

  Full mode trains on the paper's public voice/face pairs when they are
  there (data.pairs): see `run_real_pairs`. Otherwise, and with `quick`,
  the small pipeline runs.
  """
  vgg_face_weights = data.vgg_face_weights
  if os.path.isdir(out_dir) and os.listdir(out_dir):
    print(f"{out_dir} holds an earlier run: its finished shards, data and "
          "checkpoints are reused (use a new --out_dir to start over).",
          flush=True)
  if not quick:
    if data.pairs:
      return run_real_pairs(out_dir, data, PairsRun(
          encoder_steps=encoder_steps, encoder=encoder))
    print(real_pairs.GET_EXAMPLES, flush=True)
  clock = StageClock("quick" if quick else "full")
  encoder_steps, decoder_steps, photos = QUICK if quick else FULL
  os.makedirs(out_dir, exist_ok=True)
  learning = data.fsdd and not quick
  media_dir, specs = _media(data, out_dir, learning)
  clock.finish(f"{len(specs)} clips")

  summary, train_pattern, test = _shards(specs, out_dir, vgg_face_weights)
  test_pattern = test["pattern"] if test["examples"] else train_pattern
  if not test["examples"]:
    print("No test clips: evaluating on the training clips.")
  clock.finish(f"{summary['splits']['train']['examples']} train, "
               f"{test['examples']} test, skipped {summary['skipped']}")

  decoder_data = _decoder_data(data, out_dir, photos)
  clock.finish()
  decoder_path = _train_decoder(decoder_data, out_dir, decoder_steps)
  clock.finish()
  encoder_config, encoder_run = _train_encoder(
      train_pattern, test_pattern, decoder_path, out_dir, encoder_steps,
      vgg_face_weights)
  clock.finish()

  model = speech_to_face.SpeechToFace.from_workdir(encoder_run)
  clip = sorted(glob.glob(os.path.join(media_dir, "*", "*.*")))[0]
  feature, image = model.predict_file(clip)
  face_png = os.path.join(out_dir, "predict", "face.png")
  speech_to_face.write_outputs(feature, image, face_png)
  clock.finish(clip)

  eval_dir = os.path.join(out_dir, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  learned = None
  if learning:
    learned = voice_learning.learning_result(
        encoder_run, train_pattern, test_pattern,
        encoder_config.segment_seconds)
    with open(os.path.join(eval_dir, LEARNING_FILE), "w") as f:
      json.dump(learned, f, indent=2)
  clock.finish()

  results = evaluation_lib.evaluate(eval_config.EvalConfig(
      workdir=encoder_run, test_pattern=test_pattern, out_dir=eval_dir,
      decoder_path=decoder_path, database_size=100, num_craniofacial=100,
      image_samples=100,
      attribute_models=data.attribute_models),
                                    extra_results={"learning": learned}
                                    if learned else None)
  report = os.path.join(eval_dir, evaluation_lib.REPORT_FILE)
  clock.finish()

  _print_summary(results, learned,
                 summary["splits"]["train"]["examples"] + test["examples"],
                 encoder_config.segment_seconds, not vgg_face_weights,
                 face_png, report, out_dir)
  return {"face": face_png, "report": report, "results": results,
          "shards": summary, "encoder_run": encoder_run,
          "decoder": decoder_path, "learning": learned}


@dataclasses.dataclass(frozen=True)
class PairsRun:
  """Sizes of a real-pairs run (0: the whole split / the config's steps)."""

  train_clips: int = 0
  test_clips: int = 0
  decoder_steps: int = 0
  encoder_steps: int = 0
  bootstrap: int = side_by_side.BOOTSTRAP_SAMPLES
  encoder: str = "ge2e"  # A key of ENCODER_CONFIGS.
  # Processes of the shard and decoder-data jobs (dlib uses one core each).
  shard_workers: int = 2


# The real-pairs demo's voice encoders: the shipped recipe's kind (GE2E
# backbone, frozen and cached, and a head: minutes on a CPU) by default; the
# paper's Table 1 encoder (a 1,029-clip run of it stays below its own linear
# control: README) for GPU-scale data.
ENCODER_CONFIGS = {"ge2e": "ge2e.json", "table1": "real_pairs.json"}


# The real-pairs demo's stages (stage_pipeline.STAGES); the clock's
# REAL_STAGES add the pairs split before and the evaluation report after.
PAIRS_STAGES = ("shards", "decoder data", "decoder training", "head training",
                "predict", "table")


def run_real_pairs(out_dir, data, sizes=PairsRun()):
  """The main job on the paper's public voice/face pairs (face teacher
  dlib128): shards, face decoder on the training speakers' faces, voice
  encoder on their voices, then s2f's faces beside the paper's on the
  held-out speakers, and the evaluation report."""
  clock = StageClock("real")
  teacher = real_pairs.TEACHER
  recipe = stage_pipeline.Recipe(
      pairs_dir=data.pairs, grid_dir=os.path.join(data.grid, "grid_av"),
      extra_faces=data.extra_faces, teacher=teacher, detector=PAIRS_DETECTOR,
      workers=sizes.shard_workers, train_clips=sizes.train_clips,
      test_clips=sizes.test_clips, validation=False,
      decoder_examples_per_shard=256, decoder_flips=True,
      decoder_config="face_decoder/real_pairs.json",
      decoder_steps=sizes.decoder_steps,
      encoder_config="voice_encoder/" + ENCODER_CONFIGS[sizes.encoder],
      encoder_steps=sizes.encoder_steps, encoder_eval_on_test=True,
      bootstrap=sizes.bootstrap, attribute_models=data.attribute_models)
  pipeline = stage_pipeline.Pipeline(recipe, out_dir)
  train, test = pipeline.splits["train"], pipeline.splits["test"]
  clock.finish(f"{len(train)} training clips of "
               f"{len({s.speaker_id for s in train})} speakers, {len(test)} "
               f"held-out clips of {len({s.speaker_id for s in test})}")
  pipeline.run(PAIRS_STAGES, lambda stage, note: clock.finish(note))
  splits, result = pipeline.shards, pipeline.result
  encoder_run, decoder_path = pipeline.encoder_run, pipeline.decoder_path
  face_png, figures = pipeline.face_png, pipeline.figures
  eval_dir = pipeline.path("eval")
  attribute_models = data.attribute_models

  results = evaluation_lib.evaluate(
      eval_config.EvalConfig(
          workdir=encoder_run, test_pattern=splits["test"]["pattern"],
          out_dir=eval_dir, decoder_path=decoder_path, database_size=100,
          num_craniofacial=50, image_samples=100,
          attribute_models=attribute_models, segments="6"),
      extra_results={"real_pairs": result},
      extra_figures={"real_pairs": report.rgb_figure(figures["voice"]),
                     "real_pairs_f2f": report.rgb_figure(figures["f2f"])})
  report_path = os.path.join(eval_dir, evaluation_lib.REPORT_FILE)
  clock.finish()
  print("\n" + pairs_table.markdown_table(result))
  print("\nEvery face is an average-looking face correlated with a voice, "
        "never an identity.")
  print(f"\nPredicted face:  {face_png}\nReport:          {report_path}\n"
        f"Face teacher:    {teacher}")
  _print_next(encoder_run)
  return {"face": face_png, "report": report_path, "results": results,
          "shards": pipeline.shard_summary, "encoder_run": encoder_run,
          "decoder": decoder_path, "real_pairs": result}
