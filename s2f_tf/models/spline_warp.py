"""Differentiable thin-plate-spline image warp in keras.ops (Cole et al., Sec. 3).

`tps_warp(image, source, target)` moves the content found at the `source`
points of `image` to the `target` points: for every output pixel x it samples
the image at f(x), where f is the thin-plate spline with f(target_i) =
source_i, bilinearly. Points are (x, y) in pixels. Written with keras.ops
only (solve, take_along_axis), so it runs and differentiates under
TensorFlow, JAX and PyTorch.
"""

import keras
from keras import ops

# Ridge added to the TPS kernel matrix: keeps the solve well posed when two
# landmarks coincide; in normalised coordinates it bends the fit by < 1e-3 px.
TPS_REGULARIZATION = 1e-6


def _tps_kernel(squared_distance):
  """U(r) = r^2 log r^2, with U(0) = 0."""
  return squared_distance * ops.log(ops.maximum(squared_distance, 1e-20))


def _pairwise_sq(a, b):
  """(B, N, 2), (B, M, 2) -> (B, N, M) squared distances."""
  diff = ops.expand_dims(a, 2) - ops.expand_dims(b, 1)
  return ops.sum(ops.square(diff), axis=-1)


def fit_tps(control, values):
  """TPS coefficients mapping `control` (B, N, 2) to `values` (B, N, 2).

  Returns (weights (B, N, 2), affine (B, 3, 2)).
  """
  batch = ops.shape(control)[0]
  n = control.shape[1]
  k = _tps_kernel(_pairwise_sq(control, control)) + TPS_REGULARIZATION * ops.eye(n)
  p = ops.concatenate([ops.ones((batch, n, 1), dtype=control.dtype), control],
                      axis=-1)  # (B, N, 3)
  top = ops.concatenate([k, p], axis=-1)
  bottom = ops.concatenate([ops.transpose(p, (0, 2, 1)),
                            ops.zeros((batch, 3, 3), dtype=control.dtype)],
                           axis=-1)
  system = ops.concatenate([top, bottom], axis=1)  # (B, N+3, N+3)
  rhs = ops.concatenate([values, ops.zeros((batch, 3, 2),
                                           dtype=control.dtype)], axis=1)
  solution = ops.linalg.solve(system, rhs)
  return solution[:, :n], solution[:, n:]


def apply_tps(points, control, weights, affine):
  """Evaluates the TPS at `points` (B, M, 2) -> (B, M, 2)."""
  u = _tps_kernel(_pairwise_sq(points, control))  # (B, M, N)
  p = ops.concatenate([ops.ones_like(points[..., :1]), points], axis=-1)
  return ops.matmul(u, weights) + ops.matmul(p, affine)


def bilinear_sample(image, coords):
  """Samples `image` (B, H, W, C) at pixel coords (B, M, 2) -> (B, M, C).

  Coordinates outside the image are clamped to its border.
  """
  height, width = image.shape[1], image.shape[2]
  channels = image.shape[3]
  flat = ops.reshape(image, (-1, height * width, channels))
  x = ops.clip(coords[..., 0], 0.0, width - 1.0)
  y = ops.clip(coords[..., 1], 0.0, height - 1.0)
  x0 = ops.floor(x)
  y0 = ops.floor(y)
  wx = ops.expand_dims(x - x0, -1)
  wy = ops.expand_dims(y - y0, -1)
  x0i = ops.cast(x0, "int32")
  y0i = ops.cast(y0, "int32")
  x1i = ops.minimum(x0i + 1, width - 1)
  y1i = ops.minimum(y0i + 1, height - 1)

  def gather(yi, xi):
    index = ops.expand_dims(yi * width + xi, -1)
    return ops.take_along_axis(flat, ops.repeat(index, channels, axis=-1),
                               axis=1)

  top = gather(y0i, x0i) * (1 - wx) + gather(y0i, x1i) * wx
  bottom = gather(y1i, x0i) * (1 - wx) + gather(y1i, x1i) * wx
  return top * (1 - wy) + bottom * wy


def pixel_grid(height, width):
  """(1, H*W, 2) pixel centres (x, y), row-major."""
  ys, xs = ops.meshgrid(ops.arange(height, dtype="float32"),
                        ops.arange(width, dtype="float32"), indexing="ij")
  return ops.reshape(ops.stack([xs, ys], axis=-1), (1, height * width, 2))


def tps_warp(image, source, target):
  """Warps `image` so that its content at `source` lands on `target`.

  Args:
    image: (B, H, W, C) float.
    source, target: (B, N, 2) points (x, y) in pixels.

  Returns:
    (B, H, W, C) warped image.
  """
  image = ops.convert_to_tensor(image, dtype="float32")
  height, width = image.shape[1], image.shape[2]
  scale = float(max(height, width))
  source = ops.convert_to_tensor(source, dtype="float32") / scale
  target = ops.convert_to_tensor(target, dtype="float32") / scale
  weights, affine = fit_tps(target, source)
  grid = pixel_grid(height, width) / scale
  grid = ops.repeat(grid, ops.shape(image)[0], axis=0)
  coords = apply_tps(grid, target, weights, affine) * scale
  return ops.reshape(bilinear_sample(image, coords),
                     (-1, height, width, image.shape[3]))


@keras.saving.register_keras_serializable(package="s2f")
class SplineWarp(keras.layers.Layer):
  """Keras layer: (texture, landmarks) -> texture warped from the fixed
  `mean_landmarks` (N, 2) to the given landmarks (B, N, 2)."""

  def __init__(self, mean_landmarks, **kwargs):
    super().__init__(**kwargs)
    self.mean_landmarks = [[float(x), float(y)] for x, y in mean_landmarks]

  def call(self, texture, landmarks):
    mean = ops.convert_to_tensor(self.mean_landmarks, dtype="float32")
    mean = ops.repeat(ops.expand_dims(mean, 0), ops.shape(landmarks)[0],
                      axis=0)
    return tps_warp(texture, mean, landmarks)

  def compute_output_shape(self, texture_shape, landmarks_shape):
    return texture_shape

  def get_config(self):
    config = super().get_config()
    config["mean_landmarks"] = self.mean_landmarks
    return config
