"""The face decoder's loss (after Cole et al.): landmark MSE + texture L1 (+ identity).

  L = w_lm mean(((l_pred - l_true) / 224)^2) + w_tex mean|t_pred - t_true|
      + w_id (1 - cos(teacher(image_pred), teacher(image_true)))

Landmarks in pixels of the 224 x 224 aligned frame, textures in [0, 1] in the
mean-landmark frame. The identity term passes the decoded face through a
frozen, differentiable copy of the face teacher (`identity_fn`: VGG-Face's
fc7, or dlib's network in Keras for dlib128) and compares it with the true
face's feature (the decoder's input). Every term is returned per example,
so a distributed trainer can average over the global batch.
"""

from keras import ops

from s2f_tf.models import face_decoder


def _mean_per_example(x):
  return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def per_example(outputs, batch, identity_fn=None, weights=(1.0, 1.0, 0.0)):
  """{'landmark_mse', 'texture_l1', ['identity'], 'total'}, each (batch,).

  Args:
    outputs: the decoder's {'landmarks', 'texture', 'image'}.
    batch: {'landmarks', 'texture', 'fc7'} targets.
    identity_fn: the decoder's outputs -> the teacher's feature of its
      image, or None.
    weights: (landmark, texture, identity).
  """
  size = float(face_decoder.IMAGE_SIZE)
  landmark = _mean_per_example(ops.square(
      (outputs["landmarks"] - batch["landmarks"]) / size))
  texture = _mean_per_example(ops.abs(outputs["texture"] - batch["texture"]))
  terms = {"landmark_mse": landmark, "texture_l1": texture}
  total = weights[0] * landmark + weights[1] * texture
  if identity_fn is not None and weights[2]:
    predicted = identity_fn(outputs)
    cosine = ops.sum(predicted * batch["fc7"], -1) / (
        ops.norm(predicted, axis=-1) * ops.norm(batch["fc7"], axis=-1) + 1e-8)
    terms["identity"] = 1.0 - cosine
    total = total + weights[2] * terms["identity"]
  terms["total"] = total
  return terms
