"""dlib's 150 x 150 face chip, cut differentiably from a batch of faces with 68 landmarks.

dlib's descriptor reads a chip cut by `get_face_chip_details(shape, 150,
0.25)` + `extract_image_chips`: a rotated rectangle fitted to the face's
landmarks, sampled bilinearly (chip corner (0, 0) on the rectangle's
top-left corner, (149, 149) on its bottom-right; a point outside the image
reads 0; no image pyramid while the rectangle is under 300 px, as every
face of the 224 px frame is).

`ChipSampler` does this for the decoder's faces: the rectangle that dlib
itself fits to a reference shape's 5 points (the eye corners and the base of
the nose of the decoder data's mean landmarks: the 5-point shape that the
dlib128 teacher and the identity instrument align with) is carried to each
face by the least-squares similarity that maps the face's 5 points onto the
reference's. For the reference shape that is dlib's chip exactly; for
another, the chip of the same face moved onto the reference by a similarity
(measured against dlib in tests/test_dlib_resnet.py). The gradient flows
through the pixels, not the landmarks.
"""

import keras
from keras import layers
from keras import ops
import numpy as np

from s2f_tf.faces import face_descriptor
from s2f_tf.models import dlib_resnet

# The 68-point layout's indices of dlib's 5-point shape (its order: one eye's
# outer and inner corner, the other's, the base of the nose), the shape the
# dlib128 teacher and the identity instrument align with.
FIVE_POINTS = [45, 42, 36, 39, 33]


def reference_corners(landmarks):
  """(3, 2) source (x, y) of chip pixels (0, 0), (149, 0), (0, 149): where
  dlib cuts the chip of a face with these 68 (x, y) landmarks."""
  import dlib  # pylint: disable=g-import-not-at-top
  five = np.asarray(landmarks, np.float64)[FIVE_POINTS]
  # dlib's shapes hold integer points: its fit reads the rounded shape.
  points = dlib.points([dlib.point(int(round(x)), int(round(y)))
                        for x, y in five])
  rect = dlib.rectangle(0, 0, 1, 1)
  details = dlib.get_face_chip_details(
      dlib.full_object_detection(rect, points), dlib_resnet.CHIP_SIZE,
      face_descriptor.CHIP_PADDING)
  r = details.rect
  centre = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
  corners = np.array([[r.left(), r.top()], [r.right(), r.top()],
                      [r.left(), r.bottom()]])
  c, s = np.cos(details.angle), np.sin(details.angle)
  rotation = np.array([[c, -s], [s, c]])
  return ((corners - centre) @ rotation.T + centre).astype(np.float32)


@keras.saving.register_keras_serializable(package="s2f")
class ChipSampler(layers.Layer):
  """(images (B, H, W, 3), landmarks (B, 68, 2)) -> (B, 150, 150, 3) chips.

  Args:
    reference_landmarks: (68, 2) the shape whose dlib chip is the reference.
    corners: (3, 2) `reference_corners(reference_landmarks)` (dlib's; kept
      so that a saved sampler loads without dlib).
    size: the chip's side.
    jitter: in training, each chip moved by a random similarity about its
      centre: shift up to `jitter` x its side, scale 1 +- `jitter`, rotation
      +- `jitter` radians (0: dlib's chip exactly). A face must keep its
      identity under the small misalignments that another aligner (the
      instrument's HOG + 5-point shape) makes.
    seed: of the jitter.
  """

  def __init__(self, reference_landmarks, corners, size=dlib_resnet.CHIP_SIZE,
               jitter=0.0, seed=None, **kwargs):
    super().__init__(**kwargs)
    self.jitter = float(jitter)
    self.seed = seed
    self._seeds = keras.random.SeedGenerator(seed) if self.jitter else None
    self.reference_landmarks = np.asarray(reference_landmarks,
                                          np.float32).tolist()
    self.corners = np.asarray(corners, np.float32).tolist()
    self.size = int(size)
    self._reference = np.asarray(self.reference_landmarks,
                                 np.float32)[FIVE_POINTS]
    tl, tr, bl = np.asarray(self.corners, np.float32)
    steps = np.arange(self.size, dtype=np.float32) / (self.size - 1)
    # (size, size, 2): the chip grid in the reference face's frame.
    self._grid = (tl[None, None] + steps[None, :, None] * (tr - tl)
                  + steps[:, None, None] * (bl - tl)).astype(np.float32)

  def call(self, inputs, training=False):
    images, landmarks = inputs
    landmarks = ops.stop_gradient(ops.cast(landmarks, "float32"))
    grid = ops.convert_to_tensor(self._grid)[None]
    if training and self.jitter:
      grid = self._jittered(grid, ops.shape(landmarks)[0])
    grid = self._source_points(ops.take(landmarks, FIVE_POINTS, axis=1), grid)
    return _bilinear(ops.cast(images, "float32"), grid)

  def skip_draws(self, draws):
    """Sets the jitter's generator to where `draws` calls in training left
    it (each draws once), so a resumed run jitters as an uninterrupted one
    (the generator is not in the checkpoint)."""
    if self._seeds is not None:
      state = self._seeds.state
      seed = ops.convert_to_numpy(state)[0]
      state.assign(ops.convert_to_tensor([seed, draws], dtype=state.dtype))

  def _jittered(self, grid, batch):
    """(B, size, size, 2): `grid` moved by a random similarity per example."""
    draw = keras.random.uniform((batch, 4), -self.jitter, self.jitter,
                                seed=self._seeds)
    side = float(np.linalg.norm(np.subtract(self.corners[1],
                                            self.corners[0])))
    centre = ops.mean(grid, axis=(1, 2), keepdims=True)
    scale = (1.0 + draw[:, 2])[:, None, None]
    cos = ops.cos(draw[:, 3])[:, None, None]
    sin = ops.sin(draw[:, 3])[:, None, None]
    g = grid - centre
    x = scale * (cos * g[..., 0] - sin * g[..., 1])
    y = scale * (sin * g[..., 0] + cos * g[..., 1])
    shift = side * draw[:, None, None, :2]
    return ops.stack([x, y], axis=-1) + centre + shift

  def _source_points(self, points, grid):
    """(B, size, size, 2): each point of `grid` (chip pixels in the
    reference face's frame) in each face, by the similarity that maps the
    face's points onto the reference's."""
    q = ops.convert_to_tensor(self._reference)
    p_mean = ops.mean(points, axis=1, keepdims=True)
    q_mean = ops.mean(q, axis=0, keepdims=True)
    p = points - p_mean
    qc = q - q_mean
    norm = ops.sum(ops.square(p), axis=(1, 2))
    # q ~ a p with a = (re, im) a complex number: rotation and scale.
    re = ops.sum(p[..., 0] * qc[None, :, 0] + p[..., 1] * qc[None, :, 1],
                 axis=1) / norm
    im = ops.sum(p[..., 0] * qc[None, :, 1] - p[..., 1] * qc[None, :, 0],
                 axis=1) / norm
    # Inverse: p = conj(a) (q - q_mean) / |a|^2 + p_mean.
    g = grid - q_mean[None]
    scale = (ops.square(re) + ops.square(im))[:, None, None]
    re, im = re[:, None, None], im[:, None, None]
    x = (re * g[..., 0] + im * g[..., 1]) / scale
    y = (re * g[..., 1] - im * g[..., 0]) / scale
    return ops.stack([x, y], axis=-1) + p_mean[:, None]

  def compute_output_shape(self, input_shapes):
    return (input_shapes[0][0], self.size, self.size, input_shapes[0][-1])

  def get_config(self):
    return {**super().get_config(), "size": self.size,
            "reference_landmarks": self.reference_landmarks,
            "corners": self.corners, "jitter": self.jitter,
            "seed": self.seed}

  @classmethod
  def from_reference(cls, reference_landmarks, **kwargs):
    """A sampler whose reference chip dlib fits to `reference_landmarks`."""
    return cls(reference_landmarks, reference_corners(reference_landmarks),
               **kwargs)


def _bilinear(images, points):
  """Bilinear samples of (B, H, W, C) `images` at (B, h, w, 2) (x, y)
  `points`; dlib's rule: 0 where a neighbour lies outside the image."""
  height, width, channels = images.shape[1], images.shape[2], images.shape[3]
  x, y = points[..., 0], points[..., 1]
  x0, y0 = ops.floor(x), ops.floor(y)
  inside = ((x0 >= 0) & (y0 >= 0) & (x0 + 1 <= width - 1)
            & (y0 + 1 <= height - 1))
  fx, fy = (x - x0)[..., None], (y - y0)[..., None]
  x0 = ops.cast(ops.clip(x0, 0, width - 2), "int32")
  y0 = ops.cast(ops.clip(y0, 0, height - 2), "int32")
  flat = ops.reshape(images, (-1, height * width, channels))
  out_shape = ops.shape(x)

  def at(yy, xx):
    index = ops.reshape(yy * width + xx, (out_shape[0], -1, 1))
    values = ops.take_along_axis(flat, ops.repeat(index, channels, axis=-1),
                                 axis=1)
    return ops.reshape(values, (out_shape[0], out_shape[1], out_shape[2],
                                channels))
  top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
  bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
  value = top * (1 - fy) + bottom * fy
  return value * ops.cast(inside, value.dtype)[..., None]
