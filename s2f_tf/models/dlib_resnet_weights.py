"""Reads dlib's serialized face-recognition network (`.dat`) into `dlib_resnet`.

The file is dlib's own `serialize(net)` of `anet_type` (the loss layer,
then each layer wrapping the next, the input layer innermost). What is read
here, as dlib's `serialize.h` and `dnn/{core,layers,input,loss}.h` write it:

- an integer: one control byte (bit 7 = negative, low 4 bits = byte count)
  and that many little-endian bytes; a float: two integers, mantissa and
  exponent (value = mantissa * 2^exponent); a bool: the byte '0' or '1'; a
  string: its length (an integer) and its bytes;
- a tensor: version 2, then n, k, rows, columns and n*k*rows*columns
  little-endian float32; an alias tensor: version 1 and the four sizes;
- a layer: its version, the layer it wraps, its own details (a name such as
  `con_4` followed by that layer's fields), three bools and its cached
  tensors (empty in a cleaned net). Tags and skips hold a version and the
  layer they wrap; the loss layer a version, its details and the net.

So the parameters come out in forward order, input side first, and are
matched to `dlib_resnet.weighted_layers` by position, each shape checked.
s2f never downloads the file: it is the `face-recognition-models` package's.
"""

import os

import numpy as np

from s2f_tf.models import dlib_resnet

FILE_NAME = "dlib_face_recognition_resnet_model_v1.dat"
MISSING_HELP = (
    "dlib's face-recognition network was not found at {path!r}. s2f does not "
    "download it: `pip install face-recognition-models==0.3.0` installs it "
    "(models/" + FILE_NAME + "), or pass the path of a copy of dlib's file "
    "of that name.")


class FormatError(ValueError):
  """The file is not a dlib face-recognition ResNet as s2f reads it."""


class _Reader:
  """dlib's serialization primitives over a byte string."""

  def __init__(self, data):
    self._data = data
    self.position = 0

  def _take(self, count):
    if self.position + count > len(self._data):
      raise FormatError(f"the file ends early (byte {self.position})")
    chunk = self._data[self.position:self.position + count]
    self.position += count
    return chunk

  def integer(self):
    control = self._take(1)[0]
    size = control & 0x0F
    if not 1 <= size <= 8:
      raise FormatError(f"bad integer at byte {self.position - 1}")
    value = int.from_bytes(self._take(size), "little")
    return -value if control & 0x80 else value

  def real(self):
    mantissa = self.integer()
    return float(mantissa) * 2.0 ** self.integer()

  def boolean(self):
    byte = self._take(1)
    if byte not in (b"0", b"1"):
      raise FormatError(f"bad bool at byte {self.position - 1}")
    return byte == b"1"

  def string(self):
    return self._take(self.integer()).decode("latin-1")

  def tensor(self):
    if self.integer() != 2:
      raise FormatError(f"bad tensor version at byte {self.position}")
    shape = tuple(self.integer() for _ in range(4))
    count = int(np.prod(shape))
    return np.frombuffer(self._take(4 * count), "<f4").reshape(shape)

  def alias_tensor(self):
    if self.integer() != 1:
      raise FormatError(f"bad alias tensor version at byte {self.position}")
    return tuple(self.integer() for _ in range(4))


def _details(reader):
  """One layer's own fields -> (kind, {fields}); parameters as arrays."""
  name = reader.string()
  if name in ("con_4", "con_5", "con_6"):
    params = reader.tensor().reshape(-1)
    fields = {"filters": reader.integer(), "rows": reader.integer(),
              "columns": reader.integer(), "stride": (reader.integer(),
                                                      reader.integer()),
              "padding": (reader.integer(), reader.integer())}
    kernel_shape = reader.alias_tensor()
    reader.alias_tensor()  # biases
    for _ in range(4):  # learning-rate and weight-decay multipliers
      reader.real()
    if name != "con_4":
      fields["use_bias"] = reader.boolean()
    if name == "con_6":
      reader.boolean()  # use_relu
    size = int(np.prod(kernel_shape))
    fields["kernel"] = params[:size].reshape(kernel_shape)
    fields["bias"] = params[size:]
    return "con", fields
  if name in ("affine_", "affine_2"):
    params = reader.tensor().reshape(-1)
    reader.alias_tensor()
    reader.alias_tensor()
    mode = reader.integer()
    if name == "affine_2":
      reader.boolean()  # disabled
    half = params.size // 2
    return "affine", {"gamma": params[:half], "beta": params[half:],
                      "mode": mode}
  if name in ("fc_2", "fc_3"):
    outputs, inputs = reader.integer(), reader.integer()
    params = reader.tensor().reshape(-1)
    reader.alias_tensor()
    reader.alias_tensor()
    bias_mode = reader.integer()
    for _ in range(4):
      reader.real()
    if name == "fc_3":
      reader.boolean()
    return "fc", {"kernel": params[:inputs * outputs].reshape(inputs, outputs),
                  "bias_mode": bias_mode}
  if name in ("relu_", "relu_2"):
    if name == "relu_2":
      reader.boolean()
    return "relu", {}
  if name in ("max_pool_2", "avg_pool_2"):
    fields = [reader.integer() for _ in range(6)]
    return name[:-2], {"size": tuple(fields[:2]), "stride": tuple(fields[2:4]),
                       "padding": tuple(fields[4:])}
  if name == "add_prev_":
    return "add_prev", {}
  if name == "input_rgb_image_sized":
    means = tuple(reader.real() for _ in range(3))
    return "input", {"means": means,
                     "size": (reader.integer(), reader.integer())}
  raise FormatError(f"unknown layer {name!r} at byte {reader.position}")


def chain():
  """The wrappers of dlib's `anet_type`, input side first: a layer's kind,
  or "tag" / "skip" (which hold no parameters)."""
  kinds = ["con", "affine", "relu", "max_pool"]
  for _, count, down in dlib_resnet.UNITS:
    for index in range(count):
      kinds += ["tag", "con", "affine", "relu", "con", "affine"]
      if down and index == 0:
        kinds += ["tag", "skip", "avg_pool"]
      kinds += ["add_prev", "relu"]
  return kinds + ["avg_pool", "fc"]


def _layer(reader, kinds, out):
  """The chain `kinds` (outermost last) as dlib nests it, innermost first
  into `out`: each wrapper's version, the chain it wraps, then its own
  fields."""
  kind = kinds[-1]
  version = reader.integer()
  if kind in ("tag", "skip"):
    _layer(reader, kinds[:-1], out)
    return
  if len(kinds) == 1:  # The layer on the input: dlib's input add_layer.
    out.append(_details(reader))
    out.append(_check(_details(reader), kind))
    for _ in range(3):
      reader.boolean()
    for _ in range(3):  # x_grad, cached_output, grad_final
      reader.tensor()
    if version >= 3:
      reader.integer()  # sample expansion factor
    return
  _layer(reader, kinds[:-1], out)
  out.append(_check(_details(reader), kind))
  for _ in range(3):
    reader.boolean()
  reader.tensor()  # x_grad
  reader.tensor()  # cached_output
  if version == 2:
    reader.tensor()  # params_grad


def _check(layer, kind):
  if layer[0] != kind:
    raise FormatError(f"found a {layer[0]} layer where dlib's face network "
                      f"has a {kind}")
  return layer


def read(path):
  """dlib's file -> [(kind, {fields})] in forward order, the input first."""
  if not os.path.exists(path):
    raise FileNotFoundError(MISSING_HELP.format(path=path))
  with open(path, "rb") as f:
    data = f.read()
  reader = _Reader(data)
  if reader.integer() != 1:
    raise FormatError(f"{path}: not a dlib network (loss layer version)")
  loss = reader.string()
  if loss == "loss_metric_2":
    reader.real()  # margin
    reader.real()  # distance threshold
  elif loss != "loss_metric_":
    raise FormatError(f"{path}: loss {loss!r}, not dlib's metric loss")
  out = []
  _layer(reader, chain(), out)
  if reader.position != len(data):
    raise FormatError(f"{path}: {len(data) - reader.position} bytes left "
                      "after the network")
  return out


def default_path():
  """The file `face-recognition-models` installs (the dlib128 teacher's)."""
  from s2f_tf.faces import face_detector  # pylint: disable=g-import-not-at-top
  return face_detector.model_path(FILE_NAME)


def load(model, path=None):
  """Sets `dlib_resnet.build()`'s weights and input means from dlib's file.

  Raises FileNotFoundError (naming what to get) or FormatError.
  """
  path = path or default_path()
  parsed = read(path)
  kinds = {"con": "Conv2D", "affine": "ChannelAffine", "fc": "Dense"}
  weighted = [(kind, fields) for kind, fields in parsed if kind in kinds]
  targets = dlib_resnet.weighted_layers(model)
  if len(weighted) != len(targets):
    raise FormatError(f"{path}: {len(weighted)} weighted layers, the Keras "
                      f"network has {len(targets)}")
  for (kind, fields), layer in zip(weighted, targets):
    if type(layer).__name__ != kinds[kind]:
      raise FormatError(f"{path}: a {kind} layer where {layer.name} is")
    if kind == "con":
      # dlib: (out, in, rows, columns), cross-correlation like Keras.
      values = [np.transpose(fields["kernel"], (2, 3, 1, 0)), fields["bias"]]
    elif kind == "affine":
      values = [fields["gamma"], fields["beta"]]
    else:
      values = [fields["kernel"]]
    expected = [tuple(w.shape) for w in layer.get_weights()]
    if [v.shape for v in values] != expected:
      raise FormatError(f"{path}: {layer.name} expects {expected}, the file "
                        f"holds {[v.shape for v in values]}")
    layer.set_weights(values)
  means = dict(parsed)["input"]["means"]
  model.get_layer("input_means").means = tuple(means)
  return model
