"""Weight loaders for the publicly released VGG-Face models.

Two releases are supported, each read from a local file (s2f never downloads):
- keras-vggface's Keras h5, `rcmalli_vggface_tf_vgg16.h5` (Keras 2
  `save_weights` layout: groups named after layers, a `weight_names` attribute
  listing kernel then bias), also inside a full-model h5 (`model_weights/`).
- the Oxford MatConvNet release, `vgg_face.mat` (a `net` struct, or bare
  `layers`, each layer with `name` and `weights` = {kernel HWIO, bias}; the
  fully connected layers are stored as convolutions and are reshaped).

The two releases expect different inputs: the h5 (converted from Caffe)
takes BGR minus the BGR means, the MatConvNet net takes RGB minus its
`averageImage` (129.19, 104.76, 93.59). s2f feeds every model BGR minus the
BGR means (`vgg_face.preprocess_input`: the same means, reversed), so the
.mat loader reverses conv1_1's input-channel axis, which makes the network
read BGR exactly as the released one reads RGB.
"""

import os

import numpy as np

DOWNLOAD_HELP = (
    "VGG-Face weights were not found at {path!r}. s2f does not download them. "
    "Get one of the public releases and pass its local path: the Keras h5 "
    "'rcmalli_vggface_tf_vgg16.h5' (release v2.0 of github.com/rcmalli/"
    "keras-vggface), or 'vgg_face.mat' from vgg_face_matconvnet.tar.gz "
    "(www.robots.ox.ac.uk/~vgg/software/vgg_face/).")

_WEIGHTED_LAYERS = ("conv", "fc")
FIRST_CONV = "conv1_1"


def _weighted_layers(model):
  return [layer for layer in model.layers
          if layer.name.startswith(_WEIGHTED_LAYERS) and layer.weights]


def _read_h5(path):
  """{layer name: [kernel, bias]} from a Keras 2 h5 weights/model file."""
  import h5py  # pylint: disable=g-import-not-at-top
  weights = {}
  with h5py.File(path, "r") as f:
    root = f["model_weights"] if "model_weights" in f else f
    for name in root.attrs.get("layer_names", list(root.keys())):
      name = name.decode() if isinstance(name, bytes) else name
      group = root[name]
      names = group.attrs.get("weight_names", [])
      arrays = [np.asarray(group[n.decode() if isinstance(n, bytes) else n])
                for n in names]
      if arrays:
        weights[name] = arrays
  return weights


def _read_mat(path):
  """{layer name: [kernel, bias]} from the MatConvNet vgg_face.mat."""
  import scipy.io  # pylint: disable=g-import-not-at-top
  mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
  layers = mat["net"].layers if "net" in mat else mat["layers"]
  weights = {}
  for layer in np.atleast_1d(layers):
    params = getattr(layer, "weights", None)
    if params is None or np.size(params) == 0:
      continue
    kernel, bias = params[0], params[1]
    weights[str(layer.name)] = [np.asarray(kernel, np.float32),
                                np.asarray(bias, np.float32).reshape(-1)]
  if FIRST_CONV in weights:  # RGB input -> the BGR input s2f feeds.
    weights[FIRST_CONV][0] = weights[FIRST_CONV][0][:, :, ::-1, :].copy()
  return weights


def read_weights(path):
  """Reads a released VGG-Face file into {layer name: [kernel, bias]}."""
  if not os.path.isfile(path):
    raise FileNotFoundError(DOWNLOAD_HELP.format(path=path))
  if path.endswith(".mat"):
    return _read_mat(path)
  if path.endswith((".h5", ".hdf5", ".keras.h5")):
    return _read_h5(path)
  raise ValueError(f"{path}: unknown VGG-Face weight format; expected .h5 "
                   "(keras-vggface) or .mat (MatConvNet)")


def load_vgg_face_weights(model, path):
  """Sets `model`'s conv/fc weights from a released file; returns the model.

  Kernels stored as convolutions (MatConvNet fc6 is 7x7x512x4096) are reshaped
  to the Dense layout in row-major (height, width, channel) order, which is
  the order Keras' Flatten uses on NHWC tensors.
  """
  weights = read_weights(path)
  for layer in _weighted_layers(model):
    if layer.name not in weights:
      raise ValueError(f"{path}: no weights for layer {layer.name!r} "
                       f"(found {sorted(weights)[:8]}...)")
    kernel, bias = weights[layer.name][:2]
    expected = tuple(layer.kernel.shape)
    if kernel.shape != expected:
      if int(np.prod(kernel.shape)) != int(np.prod(expected)):
        raise ValueError(f"{path}: layer {layer.name!r} kernel {kernel.shape}"
                         f" does not fit {expected}")
      kernel = kernel.reshape(expected)
    layer.set_weights([kernel.astype(np.float32),
                       bias.reshape(-1).astype(np.float32)])
  return model
