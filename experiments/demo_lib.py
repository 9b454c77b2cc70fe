"""The main job: the whole s2f pipeline on real data, on a CPU, in minutes.

media (GRID talking faces; plus artificial FSDD voice/photo pairs) -> shard
job -> face-decoder data + training -> voice-encoder training -> predict ->
evaluation report. Tiny models and few steps: this demonstrates that the
pipeline runs end to end; it does not reproduce the paper (see README,
"Paper-scale training").
"""

import glob
import json
import os
import time

from absl import logging

from data_prep import clip_sources
from data_prep import prepare_decoder_data_lib
from data_prep import prepare_shards_lib
from experiments import demo_media
from experiments import evaluation_lib
from experiments import voice_learning
from s2f_tf import face_decoder_trainer
from s2f_tf import progress
from s2f_tf import speech_to_face
from s2f_tf import train_config
from s2f_tf import voice_encoder_trainer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data")
CONFIGS = os.path.join(REPO_ROOT, "experiments", "configs")
LEARNING_FILE = "learning.json"
# (encoder steps, decoder steps, decoder photos) for --quick and the full demo
# (the full demo's steps are those of configs/*/demo.json).
QUICK = (30, 60, 12)
FULL = (400, 600, 63)
# The demo's detector: HOG finds every face of its data (GRID frames, the
# photos) at a fraction of the CNN's cost on a CPU.
DETECTOR = "hog"
STAGES = ("media", "shards", "face-decoder data", "face-decoder training",
          "voice-encoder training", "predict", "learning result",
          "evaluation")
# Seconds per stage measured on the development machine (2 cores), for the
# ETA; the estimate is rescaled by how fast this machine has been so far.
MEASURED_SECONDS = {"quick": (2, 8, 8, 10, 10, 2, 0, 15),
                    "full": (3, 45, 25, 40, 150, 3, 25, 40)}

DISCLAIMER = """
This demo trains tiny models for a few minutes on {examples} clips{random}.
It shows that every stage of s2f runs end to end{learned}; the faces it makes
are not meaningful. Paper-scale training needs AVSpeech (1.7 M clips), the
released VGG-Face weights and accelerators: see README.md, "Paper-scale
training". Every face is an average-looking face correlated with a voice,
never an identity.""".strip()


class StageClock:
  """Prints each finished stage with elapsed time and an ETA."""

  def __init__(self, mode):
    self.expected = MEASURED_SECONDS[mode]
    self.started = time.perf_counter()
    self.done = 0

  def finish(self, note=""):
    elapsed = time.perf_counter() - self.started
    name = STAGES[self.done]
    self.done += 1
    spent = sum(self.expected[:self.done])
    left = sum(self.expected[self.done:]) * elapsed / max(spent, 1)
    line = (f"[{self.done}/{len(STAGES)}] {name} done"
            + (f": {note}" if note else "")
            + f" | {progress.format_duration(elapsed)} elapsed"
            + (f", ~{progress.format_duration(left)} to go"
               if self.done < len(STAGES) else ""))
    logging.info("demo: %s", line)
    print(line, flush=True)


def _media(data_dir, out_dir, learning):
  """Stage 1: talking-face clips (GRID, FSDD pairs, or espeak-ng); specs."""
  media_dir = os.path.join(out_dir, "media")
  if os.path.isdir(data_dir):
    demo_media.grid_clips(data_dir, media_dir)
    specs = clip_sources.video_folder(media_dir)
    if learning:
      specs += voice_learning.media_specs(
          data_dir, os.path.join(out_dir, "fsdd_voices"),
          os.path.join(out_dir, "fsdd_faces"))
  else:
    print(f"{data_dir} not found: using generated espeak-ng speech over one "
          "photo (artificial pairs).")
    demo_media.espeak_clips(media_dir)
    specs = clip_sources.video_folder(media_dir)
  return media_dir, specs


def _shards(specs, out_dir, vgg_face_weights):
  """Stage 2: the shard job; (summary, train pattern, test split stats)."""
  loader = prepare_shards_lib.model_loader(
      detector=DETECTOR, vgg_face_weights_path=vgg_face_weights,
      allow_random_vgg_face=not vgg_face_weights)
  summary = prepare_shards_lib.run(
      specs, prepare_shards_lib.ShardOptions(
          output_dir=os.path.join(out_dir, "shards"), test_fraction=0.2,
          examples_per_shard=16), loader)
  test = summary["splits"].get("test", {"examples": 0})
  return summary, summary["splits"]["train"]["pattern"], test


def _decoder_data(data_dir, out_dir, photos, vgg_face_weights):
  """Stage 3: face photos -> the face decoder's data; its directory."""
  photo_dir = os.path.join(out_dir, "decoder_photos")
  os.makedirs(photo_dir, exist_ok=True)
  sources = sorted(glob.glob(os.path.join(data_dir, "faces", "img*.jpg")))
  if not sources:
    import skimage.data  # pylint: disable=g-import-not-at-top
    import cv2  # pylint: disable=g-import-not-at-top
    cv2.imwrite(os.path.join(photo_dir, "astronaut.png"),
                cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
  for path in sources[:photos]:
    target = os.path.join(photo_dir, os.path.basename(path))
    if not os.path.exists(target):
      os.symlink(os.path.abspath(path), target)
  decoder_data = os.path.join(out_dir, "decoder_data")
  prepare_decoder_data_lib.run(
      photo_dir, prepare_decoder_data_lib.DecoderDataOptions(
          output_dir=decoder_data),
      lambda: prepare_decoder_data_lib.load_models(
          DETECTOR, vgg_face_weights_path=vgg_face_weights,
          allow_random_vgg_face=not vgg_face_weights))
  return decoder_data


def _train_decoder(decoder_data, out_dir, steps):
  """Stage 4: the face decoder (configs/face_decoder/demo.json); its export."""
  config = train_config.DecoderTrainConfig.load(
      os.path.join(CONFIGS, "face_decoder", "demo.json")).replace(
          data_dir=decoder_data, train_steps=steps)
  run = os.path.join(out_dir, "face_decoder")
  face_decoder_trainer.train(config, run)
  return os.path.join(run, face_decoder_trainer.EXPORT_DIR,
                      face_decoder_trainer.DECODER_FILE)


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


def run_demo(out_dir, quick=False, data_dir="", vgg_face_weights=""):
  """Runs the main job into `out_dir`; returns a dict of what it wrote."""
  clock = StageClock("quick" if quick else "full")
  encoder_steps, decoder_steps, photos = QUICK if quick else FULL
  data_dir = data_dir or DEFAULT_DATA_DIR
  os.makedirs(out_dir, exist_ok=True)
  learning = os.path.isdir(data_dir) and not quick
  media_dir, specs = _media(data_dir, out_dir, learning)
  clock.finish(f"{len(specs)} clips")

  summary, train_pattern, test = _shards(specs, out_dir, vgg_face_weights)
  test_pattern = test["pattern"] if test["examples"] else train_pattern
  if not test["examples"]:
    print("No test clips: evaluating on the training clips.")
  clock.finish(f"{summary['splits']['train']['examples']} train, "
               f"{test['examples']} test, skipped {summary['skipped']}")

  decoder_data = _decoder_data(data_dir, out_dir, photos, vgg_face_weights)
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

  results = evaluation_lib.evaluate(evaluation_lib.EvalConfig(
      workdir=encoder_run, test_pattern=test_pattern, out_dir=eval_dir,
      decoder_path=decoder_path, database_size=100, num_craniofacial=100,
      image_samples=100), extra_results={"learning": learned}
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
