"""Eq. 1 of Speech2Face: decoder-space L1 + normalised-feature L2 + distillation.

  L = |f_dec(v_f) - f_dec(v_s)|_1
      + lambda1 |v_f/|v_f| - v_s/|v_s||_2^2
      + lambda2 L_distill(f_VGG(v_f), f_VGG(v_s)),
  L_distill(a, b) = -sum_i softmax(a/T)_i log softmax(b/T)_i.

v_f is the true VGG-Face fc7 of the face, v_s the voice encoder's output.
f_dec (the face decoder's first layer, 4096 -> 1000) and f_VGG (VGG-Face
fc8, 4096 -> 2622) are frozen layers passed in by the caller (Sec. 3.2).
Every term is returned by name, per example, so a distributed trainer can
average over the global batch.
"""

import keras
from keras import ops

from s2f_tf.losses import loss_weights

_EPSILON = 1e-12


def _l2_normalize(x):
  return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=-1,
                                          keepdims=True), _EPSILON))


def distillation(teacher_logits, student_logits,
                 temperature=loss_weights.DISTILL_TEMPERATURE):
  """-sum_i p_i(teacher) log p_i(student), p = softmax(logits / T), per row."""
  p_teacher = ops.softmax(teacher_logits / temperature, axis=-1)
  log_p_student = ops.log_softmax(student_logits / temperature, axis=-1)
  return -ops.sum(p_teacher * log_p_student, axis=-1)


class Speech2FaceLoss:
  """Eq. 1 with injected frozen heads.

  Args:
    decoder_fc: the face decoder's first layer, a callable 4096 -> 1000.
    fc8: VGG-Face fc8, a callable 4096 -> 2622 logits; None for a face
      teacher without an identity classifier (dlib128): lambda3's term is
      then 0.
    lambda1, lambda2, temperature: Eq. 1's constants.
    face_decoder: the whole frozen decoder (4096 -> image); only the pixel
      loss uses it.
    loss_type: 'paper' (Eq. 1) or 'pixel' (L1 between decoded images, Fig. 8).
  """

  def __init__(self, decoder_fc, fc8, lambda1=loss_weights.LAMBDA1, lambda2=loss_weights.LAMBDA2,
               temperature=loss_weights.DISTILL_TEMPERATURE, face_decoder=None,
               loss_type="paper"):
    if loss_type not in loss_weights.LOSS_TYPES:
      raise ValueError(f"loss_type must be 'paper' or 'pixel', not {loss_type}")
    if loss_type == "pixel" and face_decoder is None:
      raise ValueError("the pixel loss needs the whole frozen face decoder")
    for head in (decoder_fc, fc8, face_decoder):
      if isinstance(head, keras.layers.Layer):
        head.trainable = False
    self.decoder_fc = decoder_fc
    self.fc8 = fc8
    self.lambda1 = lambda1
    self.lambda2 = lambda2
    self.temperature = temperature
    self.face_decoder = face_decoder
    self.loss_type = loss_type

  def per_example(self, v_f, v_s):
    """Returns {'decoder_l1', 'feature_l2', 'distillation', 'total'} (batch,).

    For loss_type='pixel': {'pixel_l1', 'total'}.
    """
    v_f = ops.stop_gradient(ops.convert_to_tensor(v_f, dtype=v_s.dtype))
    if self.loss_type == "pixel":
      target = ops.stop_gradient(self.face_decoder(v_f, training=False))
      output = self.face_decoder(v_s, training=False)
      pixel = ops.mean(ops.abs(target - output), axis=(1, 2, 3))
      return {"pixel_l1": pixel, "total": pixel}
    decoder_l1 = ops.sum(ops.abs(
        ops.stop_gradient(self.decoder_fc(v_f)) - self.decoder_fc(v_s)),
                         axis=-1)
    feature_l2 = ops.sum(ops.square(_l2_normalize(v_f) - _l2_normalize(v_s)),
                         axis=-1)
    if self.fc8 is None:
      distill = ops.zeros_like(feature_l2)
    else:
      distill = distillation(ops.stop_gradient(self.fc8(v_f)), self.fc8(v_s),
                             self.temperature)
    total = decoder_l1 + self.lambda1 * feature_l2 + self.lambda2 * distill
    return {"decoder_l1": decoder_l1, "feature_l2": feature_l2,
            "distillation": distill, "total": total}

  def __call__(self, v_f, v_s):
    """Batch means of every term (single-replica convenience)."""
    return {name: ops.mean(value)
            for name, value in self.per_example(v_f, v_s).items()}
