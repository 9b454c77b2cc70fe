"""Does the pipeline learn from real voices? The demo's learning experiment.

Six real voices (the Free Spoken Digit speakers) are each paired with one
identity's face photo (an artificial pairing: FSDD has no faces). Each
speaker's recordings are concatenated into utterances; most train the voice
encoder, the last few are held out. The test: given a held-out utterance,
name its identity among the six by the nearest identity feature (cosine)
— "seen speakers, unseen utterances", chance 1/6 = 16.7 %. It shows the
encoder learns voice -> face-feature regularities from real speech; it says
nothing about unseen speakers (six are far too few for that).

Without the released VGG-Face weights the identity features come from a
random VGG-Face, and fc8 is random: the distillation term of Eq. 1 then sits
near ln 2622 = 7.87 (a near-uniform teacher) and cannot learn; the feature
term and the decoder term (against the trained face decoder) can.
"""

import numpy as np

from data_prep import clip_sources
from experiments.app import demo_media
from experiments.evaluation import prediction_pass
from s2f_tf import run_record
from s2f_tf import speech_to_face
from s2f_tf.metrics import retrieval

SPEAKER_PREFIX = "fsdd_"
UTTERANCES = 20  # per speaker
HELD_OUT = 5  # the last 5 utterances of each speaker
UTTERANCE_SECONDS = 3.0
LABEL = "seen speakers, unseen utterances"


def media_specs(data_dir, voices_root, faces_root, utterances=UTTERANCES,
                held_out=HELD_OUT, seconds=UTTERANCE_SECONDS):
  """Writes the utterances; returns their ClipSpecs, split by utterance."""
  demo_media.fsdd_utterances(data_dir, voices_root, faces_root, utterances,
                             seconds)
  specs = []
  for spec in clip_sources.voxceleb(voices_root, faces_root):
    index = int(spec.clip_id.rsplit("/", 1)[1])
    specs.append(spec._replace(
        split="test" if index >= utterances - held_out else "train"))
  return specs


def learning_result(workdir, train_pattern, test_pattern, segment_seconds):
  """R@1 among the six identities on held-out and on training utterances,
  plus the first and last logged losses of the run."""
  model, config = speech_to_face.load_encoder(workdir)
  result = {"label": LABEL}
  for name, pattern in (("held_out", test_pattern), ("train", train_pattern)):
    p = prediction_pass.predict(prediction_pass.encoder_fn(model), pattern,
                               segment_seconds, image_samples=0,
                               teacher=config.teacher)
    keep = [i for i, s in enumerate(p["speaker_ids"])
            if s.startswith(SPEAKER_PREFIX)]
    if not keep:
      continue
    result[name] = retrieval.closed_set_recall(
        p["predicted"][keep], p["true"][keep],
        [p["speaker_ids"][i] for i in keep])
  metrics = run_record.read_metrics(workdir)
  if metrics:
    terms = sorted(k for k in metrics[0] if k.startswith("losses/"))
    result["losses"] = {k.split("/", 1)[1]: (metrics[0][k], metrics[-1][k])
                        for k in terms}
    result["distillation_uniform"] = float(np.log(2622))
  return result


def summary_lines(result):
  """Human-readable lines of `learning_result` for the demo's printout."""
  lines = []
  held = result.get("held_out")
  if held:
    lines.append(
        f"Learning on real voices ({result['label']}): R@1 "
        f"{held['r_at_1']:.1f} % on {held['queries']} held-out utterances of "
        f"{held['identities']} speakers (chance {held['chance']:.1f} %)")
  train = result.get("train")
  if train:
    lines.append(f"  on the {train['queries']} training utterances: R@1 "
                 f"{train['r_at_1']:.1f} %")
  for term, (first, last) in result.get("losses", {}).items():
    lines.append(f"  loss {term}: {first:.4g} -> {last:.4g}")
  return lines
