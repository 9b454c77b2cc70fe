"""Person / background masks from MediaPipe's selfie segmentation network, run by TensorFlow Lite.

The face decoder's training faces get a plain background (the paper's
faces are drawn on white; WORKSPACE.md, "The paper's framing and plain
background"): this network says which pixels belong to the person (face,
hair, neck, clothes). It is MediaPipe's `selfie_segmentation.tflite`
(256 x 256 RGB in [0, 1] -> a 256 x 256 person probability; Apache 2.0,
from the wheel `mediapipe==0.10.14`), shipped in `models/weights/` with one
change: its last layer, MediaPipe's custom op `Convolution2DTransposeBias`,
is rewritten as TensorFlow Lite's builtin TRANSPOSE_CONV with the same
weights, bias, stride and padding (`builtin_transpose_conv`), so that
TensorFlow's own interpreter runs it without MediaPipe.
"""

import os

import cv2
import numpy as np

WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "models", "weights", "selfie_segmentation.tflite")
INPUT_SIZE = 256  # The network's square input and output.
# What surrounds the person in the decoder's training faces: "white" (the
# paper's faces: the person's pixels, by this network, on 255) or "photo"
# (the photo's own background, its border replicated outside the photo).
BACKGROUNDS = ("white", "photo")
DEFAULT_BACKGROUND = "white"
# The photo's edge fades into the background over this many pixels of the
# 224 px frame: an aligned crop smaller than the frame (UTKFace's chips in
# the paper's frame) would otherwise end in a hard-edged square. Chosen by
# eye on UTKFace chips and the pairs' frames (WORKSPACE.md).
EDGE_FADE_PIXELS = 16
CUSTOM_OP = b"Convolution2DTransposeBias"


class PersonSegmenter:
  """RGB uint8 image -> (H, W) float32 person probability in [0, 1]."""

  def __init__(self, path=WEIGHTS):
    if not os.path.isfile(path):
      raise FileNotFoundError(
          f"No selfie segmentation network at {path}: it ships with s2f "
          "(s2f_tf/models/weights/); remake it with `python -m "
          "experiments.convert_selfie_segmenter --wheel "
          "mediapipe-0.10.14-*.whl`")
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._interpreter = tf.lite.Interpreter(model_path=path, num_threads=1)
    self._interpreter.allocate_tensors()
    self._input = self._interpreter.get_input_details()[0]["index"]
    self._output = self._interpreter.get_output_details()[0]["index"]

  def __call__(self, rgb):
    height, width = rgb.shape[:2]
    image = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE),
                       interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    self._interpreter.set_tensor(self._input, image[None])
    self._interpreter.invoke()
    mask = self._interpreter.get_tensor(self._output)[0, :, :, 0]
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)


def on_background(rgb, person, colour=255):
  """The person on a plain background: rgb * person + colour * (1 -
  person), person (H, W) in [0, 1]; uint8."""
  person = np.clip(person, 0.0, 1.0)[..., None]
  return np.clip(rgb * person + float(colour) * (1.0 - person) + 0.5, 0,
                 255).astype(np.uint8)


def faded_edges(inside, pixels=EDGE_FADE_PIXELS):
  """(H, W) 1 inside the photo, 0 outside -> the same falling linearly
  from 1 at `pixels` inside the photo's edge to 0 at the edge. The frame's
  own border is not an edge (the photo goes on beyond it)."""
  binary = np.pad((inside > 0.5).astype(np.uint8), 1, mode="edge")
  distance = cv2.distanceTransform(binary, cv2.DIST_L2, 5)[1:-1, 1:-1]
  return np.clip(distance / float(pixels), 0.0, 1.0).astype(np.float32)


def builtin_transpose_conv(model_bytes):
  """A TFLite flatbuffer with MediaPipe's `Convolution2DTransposeBias`
  custom ops rewritten as builtin TRANSPOSE_CONV ops (version 3: the bias
  is its 4th input). The custom op's inputs are (input, weights, bias) and
  its options three int32 (padding: 1 SAME / 2 VALID, stride x, stride
  y); the builtin's inputs are (output shape, weights, input, bias).
  Raises ValueError if the model has no such op."""
  # pylint: disable=g-import-not-at-top
  from tensorflow.lite.python import schema_py_generated as schema
  from tensorflow.lite.tools import flatbuffer_utils
  # pylint: enable=g-import-not-at-top
  model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
  code = schema.OperatorCodeT()
  code.builtinCode = code.deprecatedBuiltinCode = (
      schema.BuiltinOperator.TRANSPOSE_CONV)
  code.version = 3
  model.operatorCodes.append(code)
  rewritten = 0
  for graph in model.subgraphs:
    for op in graph.operators:
      if model.operatorCodes[op.opcodeIndex].customCode != CUSTOM_OP:
        continue
      padding, stride_x, stride_y = np.frombuffer(bytes(op.customOptions),
                                                  np.int32)[:3]
      output_shape = np.asarray(graph.tensors[op.outputs[0]].shape, np.int32)
      buffer = schema.BufferT()
      buffer.data = np.frombuffer(output_shape.tobytes(), np.uint8)
      model.buffers.append(buffer)
      tensor = schema.TensorT()
      tensor.shape = np.array([len(output_shape)], np.int32)
      tensor.type = schema.TensorType.INT32
      tensor.buffer = len(model.buffers) - 1
      tensor.name = b"transpose_conv_output_shape_%d" % rewritten
      graph.tensors.append(tensor)
      source, weights, bias = op.inputs
      op.inputs = np.array([len(graph.tensors) - 1, weights, source, bias],
                           np.int32)
      op.opcodeIndex = len(model.operatorCodes) - 1
      options = schema.TransposeConvOptionsT()
      options.padding = {1: schema.Padding.SAME,
                         2: schema.Padding.VALID}[int(padding)]
      options.strideW, options.strideH = int(stride_x), int(stride_y)
      op.builtinOptionsType = schema.BuiltinOptions.TransposeConvOptions
      op.builtinOptions = options
      op.customOptions = None
      rewritten += 1
  if not rewritten:
    raise ValueError(f"the model has no {CUSTOM_OP.decode()} op to rewrite")
  return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
