"""s2f's `ge2e` voice encoder: the pretrained GE2E d-vector, then a head to the teacher's feature.

waveform (16 kHz) -> GE2E d-vector (256-D, `ge2e.Ge2eDvector`, resemblyzer's
weights; frozen unless fine-tuned) -> Dense(head_hidden) -> ReLU ->
Dense(feature_dim) -> the face teacher's feature, trained with Eq. 1 like
Table 1's last layers. Not the paper's encoder: a backbone that has heard
thousands of speakers, for where 1.7 M training clips cannot be had
(WORKSPACE.md, "Voice backbone").
"""

import keras
from keras import layers
import numpy as np

from s2f_tf.models import ge2e

HEAD_HIDDEN = 512  # s2f's choice (WORKSPACE.md); 0 = a linear head.


def build_ge2e_encoder(feature_dim, head_hidden=HEAD_HIDDEN,
                       finetune_backbone=False, zero_init_output=False,
                       pretrained=True, name="voice_encoder"):
  """(batch, samples) waveform -> (batch, feature_dim).

  Args:
    feature_dim: the face teacher's feature size.
    head_hidden: width of the head's hidden layer (0: linear head).
    finetune_backbone: train the GE2E weights too (frozen by default).
    zero_init_output: start the last layer at 0 (as Table 1's trainer does).
    pretrained: load resemblyzer's GE2E weights (False: random, for tests of
      shapes only; a restored checkpoint overwrites them either way).
    name: model name.
  """
  waveform = keras.Input((None,), name="waveform")
  backbone = ge2e.Ge2eDvector(name="ge2e")
  backbone.build((None, None))
  if pretrained:
    ge2e.load_resemblyzer_weights(backbone)
  backbone.trainable = finetune_backbone
  x = backbone(waveform)
  for layer in head_layers(feature_dim, head_hidden, zero_init_output):
    x = layer(x)
  return keras.Model(waveform, x, name=name)


def head_of(model):
  """The head of a built ge2e encoder as a model of its own, d-vector ->
  feature, sharing the encoder's layers (training it trains the encoder)."""
  dvector = keras.Input((ge2e.EMBEDDING_DIM,), name="dvector")
  x = dvector
  for layer in model.layers:
    if layer.name.startswith("head_"):
      x = layer(x)
  return keras.Model(dvector, x, name=model.name + "_head")


def head_layers(feature_dim, head_hidden=HEAD_HIDDEN, zero_init_output=False):
  """The head's layers, d-vector -> teacher feature (also trained alone on
  cached d-vectors by experiments/select_ge2e_head.py)."""
  out = []
  if head_hidden:
    out.append(layers.Dense(head_hidden, activation="relu", name="head_fc1"))
  zero = "zeros" if zero_init_output else "glorot_uniform"
  out.append(layers.Dense(feature_dim, kernel_initializer=zero,
                          bias_initializer="zeros", name="head_out"))
  return out


def rescale_output(model, scale, mean):
  """Folds v -> mean + scale * (v - mean) into the last layer of a built
  encoder (in place): predicted features regress toward the mean, and a
  scale > 1 (chosen on validation speakers) spreads them back out."""
  last = model.get_layer("head_out")
  kernel, bias = last.get_weights()
  mean = np.asarray(mean, np.float32)
  last.set_weights([kernel * scale, bias * scale + (1.0 - scale) * mean])
  return model
