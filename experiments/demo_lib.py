"""The main job: the whole s2f pipeline on real data, on a CPU, in minutes.

media (GRID talking faces; plus artificial FSDD voice/photo pairs) -> shard
job -> face-decoder data + training -> voice-encoder training -> predict ->
evaluation report. Tiny models and few steps: this demonstrates that the
pipeline runs end to end; it does not reproduce the paper (see README,
"Paper-scale training").
"""

import glob
import os
import time

from absl import logging

from data_prep import clip_sources
from data_prep import prepare_decoder_data_lib
from data_prep import prepare_shards_lib
from experiments import demo_media
from experiments import evaluation_lib
from s2f_tf import face_decoder_trainer
from s2f_tf import speech_to_face
from s2f_tf import train_config
from s2f_tf import trainer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data")
CONFIGS = os.path.join(REPO_ROOT, "experiments", "configs")
# (encoder steps, decoder steps, decoder photos) for --quick and the full demo.
QUICK = (30, 60, 12)
FULL = (400, 600, 63)

DISCLAIMER = """
This demo trains tiny models for a few minutes on {examples} clips{random}.
It shows that every stage of s2f runs end to end; the faces it makes are not
meaningful. Paper-scale training needs AVSpeech (1.7 M clips), the released
VGG-Face weights and accelerators: see README.md, "Paper-scale training".
Every face is an average-looking face correlated with a voice, never an
identity.""".strip()


def _step(name, started):
  logging.info("demo: %s done (%.0f s so far)", name,
               time.perf_counter() - started)
  print(f"[{time.perf_counter() - started:6.0f} s] {name}", flush=True)


def run_demo(out_dir, quick=False, data_dir="", vgg_face_weights=""):
  """Runs the main job into `out_dir`; returns a dict of what it wrote."""
  started = time.perf_counter()
  encoder_steps, decoder_steps, photos = QUICK if quick else FULL
  data_dir = data_dir or DEFAULT_DATA_DIR
  has_data = os.path.isdir(data_dir)
  os.makedirs(out_dir, exist_ok=True)
  media_dir = os.path.join(out_dir, "media")
  if has_data:
    demo_media.grid_clips(data_dir, media_dir)
    if not quick:
      demo_media.fsdd_clips(data_dir, media_dir)
  else:
    print(f"{data_dir} not found: using generated espeak-ng speech over one "
          "photo (artificial pairs).")
    demo_media.espeak_clips(media_dir)
  _step("media", started)

  random_vgg = not vgg_face_weights
  loader = prepare_shards_lib.model_loader(
      detector="cnn", vgg_face_weights_path=vgg_face_weights,
      allow_random_vgg_face=random_vgg)
  shard_dir = os.path.join(out_dir, "shards")
  summary = prepare_shards_lib.run(
      clip_sources.video_folder(media_dir),
      prepare_shards_lib.ShardOptions(output_dir=shard_dir,
                                      test_fraction=0.2, examples_per_shard=8),
      loader)
  train_pattern = summary["splits"]["train"]["pattern"]
  test = summary["splits"].get("test", {"examples": 0})
  test_pattern = test["pattern"] if test["examples"] else train_pattern
  if not test["examples"]:
    print("No test clips: evaluating on the training clips.")
  _step(f"shards ({summary['splits']['train']['examples']} train, "
        f"{test['examples']} test, skipped {summary['skipped']})", started)

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
          "cnn", vgg_face_weights_path=vgg_face_weights,
          allow_random_vgg_face=random_vgg))
  _step("face-decoder data", started)

  decoder_config = face_decoder_trainer.DecoderTrainConfig.load(
      os.path.join(CONFIGS, "face_decoder", "tiny.json")).replace(
          data_dir=decoder_data, train_steps=decoder_steps,
          log_every=20, image_every=decoder_steps)
  decoder_run = os.path.join(out_dir, "face_decoder")
  face_decoder_trainer.train(decoder_config, decoder_run)
  decoder_path = os.path.join(decoder_run, face_decoder_trainer.EXPORT_DIR,
                              face_decoder_trainer.DECODER_FILE)
  _step("face-decoder training", started)

  encoder_config = train_config.TrainConfig.load(
      os.path.join(CONFIGS, "voice_encoder", "tiny.json")).replace(
          train_pattern=train_pattern, eval_pattern=test_pattern,
          train_steps=encoder_steps, decoder_path=decoder_path,
          fc8_weights=vgg_face_weights, log_every=10,
          image_every=encoder_steps, checkpoint_every=encoder_steps,
          eval_every=encoder_steps, eval_batches=4, batch_size=4)
  encoder_run = os.path.join(out_dir, "voice_encoder")
  trainer.train(encoder_config, encoder_run)
  _step("voice-encoder training", started)

  model = speech_to_face.SpeechToFace.from_workdir(encoder_run)
  clip = sorted(glob.glob(os.path.join(media_dir, "*", "*.*")))[0]
  feature, image = model.predict_file(clip)
  face_png = os.path.join(out_dir, "predict", "face.png")
  speech_to_face.write_outputs(feature, image, face_png)
  _step(f"predict ({clip})", started)

  eval_dir = os.path.join(out_dir, "eval")
  results = evaluation_lib.evaluate(evaluation_lib.EvalConfig(
      workdir=encoder_run, test_pattern=test_pattern, out_dir=eval_dir,
      decoder_path=decoder_path, database_size=100, num_craniofacial=100))
  report = os.path.join(eval_dir, evaluation_lib.REPORT_FILE)
  _step("evaluation report", started)

  examples = summary["splits"]["train"]["examples"] + test["examples"]
  print("\n" + DISCLAIMER.format(
      examples=examples,
      random=" and a RANDOM stand-in for VGG-Face (no weights given)"
      if random_vgg else ""))
  print(f"\nPredicted face:  {face_png}\nReport:          {report}\n"
        f"TensorBoard:     tensorboard --logdir {out_dir}")
  return {"face": face_png, "report": report, "results": results,
          "shards": summary, "encoder_run": encoder_run,
          "decoder": decoder_path}
