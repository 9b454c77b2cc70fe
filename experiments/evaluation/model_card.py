"""The shipped model's card: a template filled from the stage record that `train_shipped_model` writes beside the weights.

The card is generated, never edited: every number in it is a value of the
record (`stage_record.json`), and its held-out table is the real-pairs
table of the same run.
"""

import json

CARD = """# s2f shipped model (ge2e backbone, dlib128 teacher)

An average-looking face correlated with a voice: not the speaker's face,
never an identity (Speech2Face, Sec. 2). Research use only.

- **Voice encoder**: the GE2E speaker encoder (Wan et al., ICASSP 2018;
  resemblyzer 0.1.4's weights, Apache-2.0, frozen) and a head trained with
  Eq. 1 against the frozen face decoder: {choice}.
- **Face decoder**: s2f's Cole et al. decoder, `small` widths, trained
  {decoder_steps} steps of {decoder_batch} on {faces} faces: the fitting
  speakers' frames of the paper's public pairs (YouTube content: research
  use only), nine GRID frames (CC BY 4.0) and UTKFace crops
  (non-commercial research use only). Then {fine_tune_steps} steps more
  on {fine_tune_examples} examples: the fitting clips' frames, each also
  paired with {predictions} features predicted from its voice by heads
  that never heard the speaker, and other faces of the set; then
  {identity_steps} steps on them with Cole et al.'s identity term (weight
  {identity_weight}, through dlib's network ported to Keras, its face chip
  jittered by {identity_jitter}).
- **Face teacher**: dlib's 128-D descriptor (VGG-Face cannot be had
  offline).
- **Trained on**: {train} clips of the fitting speakers; choices made on
  {validation} clips of validation speakers (no trained part saw their
  voices or faces; the GE2E backbone aside, see below); judged on the
  {test} clips of the test speakers below.
- **Made by**: commit {commit} on {cpu}, {total_minutes} min of stages;
  seeds {seeds} (`stage_record.json` beside the weights holds every
  number of this card).
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


def card(record, table):
  """The model card, every number in it from the stage record."""
  values = {key: value for key, value in record.items()
            if not isinstance(value, dict)}
  values["choice"] = json.dumps(record["choice"])
  values["seeds"] = json.dumps(record["seeds"])
  return CARD.format(table=table, **values)
