"""Tests for VGG-Face: layout, parameter count, preprocessing, weight loaders."""

import os

import h5py
import numpy as np
import scipy.io
import tensorflow as tf

from s2f_tf.models import vgg_face
from s2f_tf.models import vgg_face_weights

SMALL = dict(conv_blocks=((4,), (8,)), fc_units=16, num_identities=5,
             image_size=16)
SMALL_LAYERS = ("conv1_1", "conv2_1", "fc6", "fc7", "fc8")


def random_weights(seed=0):
  rng = np.random.RandomState(seed)
  shapes = {"conv1_1": (3, 3, 3, 4), "conv2_1": (3, 3, 4, 8),
            "fc6": (4 * 4 * 8, 16), "fc7": (16, 16), "fc8": (16, 5)}
  return {name: [(0.2 * rng.randn(*shape)).astype(np.float32),
                 (0.1 * rng.randn(shape[-1])).astype(np.float32)]
          for name, shape in shapes.items()}


def numpy_forward(weights, image):
  """Independent VGG forward pass: 3x3 'same' convs, 2x2 pools, FC."""
  x = image.astype(np.float64)
  for name in ("conv1_1", "conv2_1"):
    kernel, bias = weights[name]
    h, w, _ = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, kernel.shape[-1])) + bias
    for i in range(3):
      for j in range(3):
        out += padded[i:i + h, j:j + w, :] @ kernel[i, j]
    x = np.maximum(out, 0)
    x = x.reshape(h // 2, 2, w // 2, 2, -1).max(axis=(1, 3))
  x = x.reshape(-1)
  x = np.maximum(x @ weights["fc6"][0] + weights["fc6"][1], 0)
  fc7 = np.maximum(x @ weights["fc7"][0] + weights["fc7"][1], 0)
  fc8 = fc7 @ weights["fc8"][0] + weights["fc8"][1]
  return fc7, fc8


def write_keras_h5(path, weights):
  """The keras-vggface (Keras 2 save_weights) layout, weightless layers too."""
  order = ["input_1", "conv1_1", "pool1", "conv2_1", "pool2", "flatten",
           "fc6", "fc6/relu", "fc7", "fc7/relu", "fc8", "fc8/softmax"]
  with h5py.File(path, "w") as f:
    f.attrs["layer_names"] = [n.encode() for n in order]
    for name in order:
      group = f.create_group(name)
      names = []
      if name in weights:
        names = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
        for key, value in zip(names, weights[name]):
          group.create_dataset(key.decode(), data=value)
      group.attrs["weight_names"] = names


def write_matconvnet(path, weights):
  """The MatConvNet vgg_face.mat layout: FC layers stored as convolutions."""
  conv_shapes = {"fc6": (4, 4, 8, 16), "fc7": (1, 1, 16, 16),
                 "fc8": (1, 1, 16, 5)}
  layers = []
  for name in ("conv1_1", "relu1_1", "pool1", "conv2_1", "relu2_1", "pool2",
               "fc6", "relu6", "fc7", "relu7", "fc8", "prob"):
    params = np.empty((0,), dtype=object)
    if name in weights:
      kernel, bias = weights[name]
      params = np.empty((2,), dtype=object)
      params[0] = kernel.reshape(conv_shapes.get(name, kernel.shape))
      params[1] = bias.reshape(-1, 1)
    layers.append({"name": name, "type": "conv" if name in weights else "x",
                   "weights": params})
  cells = np.empty((len(layers),), dtype=object)
  cells[:] = layers
  scipy.io.savemat(path, {"net": {"layers": cells}})


# The releases' own input recipes, written out by hand from their docs:
# keras-vggface (Caffe) takes BGR minus BGR means; Oxford's MatConvNet
# vgg_face.mat takes RGB minus net.meta.normalization.averageImage.
def caffe_input(rgb):
  return rgb[..., ::-1] - np.array([93.5940, 104.7624, 129.1863])


def matconvnet_input(rgb):
  return rgb - np.array([129.1863, 104.7624, 93.5940])


class VggFaceTest(tf.test.TestCase):

  def test_full_size_layout_and_parameter_count(self):
    model = vgg_face.build_vgg_face()
    conv = lambda cin, cout: 9 * cin * cout + cout
    hand = (conv(3, 64) + conv(64, 64) + conv(64, 128) + conv(128, 128) +
            conv(128, 256) + 2 * conv(256, 256) + conv(256, 512) +
            2 * conv(512, 512) + 3 * conv(512, 512) +
            (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) +
            (4096 * 2622 + 2622))
    self.assertEqual(hand, 145_002_878)
    self.assertEqual(model.count_params(), hand)
    self.assertEqual(model.output["fc7"].shape[-1], 4096)
    self.assertEqual(model.output["fc8"].shape[-1], 2622)
    self.assertEqual(vgg_face.fc8_layer(model).kernel.shape, (4096, 2622))

  def test_preprocess_input_hand_values(self):
    rgb = np.array([[[[10.0, 20.0, 30.0]]]], np.float32)
    out = np.asarray(vgg_face.preprocess_input(rgb))
    self.assertAllClose(out[0, 0, 0],
                        [30 - 93.5940, 20 - 104.7624, 10 - 129.1863])

  def _check_loaded(self, path, weights, release_input):
    """s2f's preprocessing + loaded model == the release's own input recipe.

    release_input: RGB image -> what the released network expects.
    """
    model = vgg_face.build_vgg_face(**SMALL)
    vgg_face_weights.load_vgg_face_weights(model, path)
    rgb = np.random.RandomState(3).uniform(0, 255, (2, 16, 16, 3))
    out = model(vgg_face.preprocess_input(rgb.astype(np.float32)))
    for i in range(2):
      fc7, fc8 = numpy_forward(weights, release_input(rgb[i]))
      self.assertAllClose(out["fc7"][i], fc7, rtol=1e-4, atol=1e-4)
      self.assertAllClose(out["fc8"][i], fc8, rtol=1e-4, atol=1e-4)

  def test_loads_keras_vggface_h5_and_reproduces_outputs(self):
    path = os.path.join(self.get_temp_dir(), "rcmalli_vggface_tf_vgg16.h5")
    weights = random_weights(1)
    write_keras_h5(path, weights)
    self._check_loaded(path, weights, caffe_input)

  def test_loads_full_model_h5(self):
    path = os.path.join(self.get_temp_dir(), "full_model.h5")
    weights = random_weights(4)
    inner = os.path.join(self.get_temp_dir(), "inner.h5")
    write_keras_h5(inner, weights)
    with h5py.File(inner, "r") as src, h5py.File(path, "w") as dst:
      src.copy(src["/"], dst, name="model_weights")
      dst["model_weights"].attrs["layer_names"] = src.attrs["layer_names"]
    self._check_loaded(path, weights, caffe_input)

  def test_loads_matconvnet_mat_and_reproduces_outputs(self):
    path = os.path.join(self.get_temp_dir(), "vgg_face.mat")
    weights = random_weights(2)
    # conv1_1 must read its three input channels differently, or a swapped
    # colour order would go unnoticed.
    first = weights["conv1_1"][0]
    self.assertGreater(np.abs(first[:, :, 0] - first[:, :, 2]).max(), 0.1)
    write_matconvnet(path, weights)
    self._check_loaded(path, weights, matconvnet_input)

  def test_missing_file_names_what_to_download(self):
    model = vgg_face.build_vgg_face(**SMALL)
    with self.assertRaises(FileNotFoundError) as ctx:
      vgg_face_weights.load_vgg_face_weights(model, "/nonexistent/w.h5")
    self.assertIn("rcmalli_vggface_tf_vgg16.h5", str(ctx.exception))
    self.assertIn("vgg_face.mat", str(ctx.exception))

  def test_wrong_shapes_are_rejected(self):
    path = os.path.join(self.get_temp_dir(), "wrong.h5")
    weights = random_weights(0)
    weights["fc7"][0] = np.zeros((16, 17), np.float32)
    write_keras_h5(path, weights)
    with self.assertRaisesRegex(ValueError, "fc7"):
      vgg_face_weights.load_vgg_face_weights(
          vgg_face.build_vgg_face(**SMALL), path)


if __name__ == "__main__":
  tf.test.main()
