"""The person segmenter (MediaPipe's selfie segmentation, its last op made builtin) and the plain background."""

import hashlib
import os

import cv2
import numpy as np
import tensorflow as tf

from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.faces import person_segmenter
from tests import shared_data

# s2f_tf/models/weights/NOTICE.md.
SHA256 = "d62188a15d42669c2ca5cfd36917a7bad5a441660dd6b597fde9ca76dd53ea32"
PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg", "img5.jpg", "img10.jpg",
          "img12.jpg", "img14.jpg", "img16.jpg")


class WeightsTest(tf.test.TestCase):

  def test_shipped_file_is_the_recorded_one(self):
    with open(person_segmenter.WEIGHTS, "rb") as f:
      self.assertEqual(hashlib.sha256(f.read()).hexdigest(), SHA256)

  def test_rewritten_op_is_a_stride_two_transpose_conv_with_bias(self):
    """The builtin op that replaced MediaPipe's custom one computes, on the
    network's own activations of a real-looking input, what a 2 x 2 stride-2
    transposed convolution plus bias is by definition (numpy):
    out[2i + a, 2j + b, o] = sum_c x[i, j, c] w[o, a, b, c] + bias[o]."""
    # pylint: disable=g-import-not-at-top
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    # pylint: enable=g-import-not-at-top
    model = flatbuffer_utils.read_model(person_segmenter.WEIGHTS)
    graph = model.subgraphs[0]
    ops = [op for op in graph.operators
           if model.operatorCodes[op.opcodeIndex].builtinCode ==
           schema.BuiltinOperator.TRANSPOSE_CONV]
    self.assertLen(ops, 1)
    self.assertFalse(any(model.operatorCodes[op.opcodeIndex].customCode
                         for op in graph.operators))
    _, weights_id, source_id, bias_id = ops[0].inputs
    interpreter = tf.lite.Interpreter(
        model_path=person_segmenter.WEIGHTS,
        experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    image = np.random.RandomState(0).uniform(0, 1, (1, 256, 256, 3))
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           image.astype(np.float32))
    interpreter.invoke()
    source = interpreter.get_tensor(source_id)[0].astype(np.float64)
    weights = interpreter.get_tensor(weights_id).astype(np.float64)
    bias = interpreter.get_tensor(bias_id).astype(np.float64)
    got = interpreter.get_tensor(ops[0].outputs[0])[0]
    height, width, _ = source.shape
    outputs, size_y, size_x, _ = weights.shape
    self.assertEqual((size_y, size_x), (2, 2))
    expected = np.zeros((2 * height, 2 * width, outputs))
    for a in range(2):
      for b in range(2):
        expected[a::2, b::2] = np.einsum("ijc,oc->ijo", source,
                                         weights[:, a, b]) + bias
    self.assertAllClose(got, expected, atol=1e-4)

  def test_rewriting_a_model_without_the_custom_op_is_an_error(self):
    with open(person_segmenter.WEIGHTS, "rb") as f:
      data = f.read()
    with self.assertRaisesRegex(ValueError, "Convolution2DTransposeBias"):
      person_segmenter.builtin_transpose_conv(data)

  def test_missing_weights_name_what_to_run(self):
    with self.assertRaisesRegex(FileNotFoundError, "convert_selfie"):
      person_segmenter.PersonSegmenter("/nonexistent/selfie.tflite")


class MaskTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.segmenter = person_segmenter.PersonSegmenter()

  def test_no_person_on_plain_or_noise_images(self):
    for image in (np.full((200, 300, 3), 128, np.uint8),
                  np.random.RandomState(1).randint(0, 256, (224, 224, 3),
                                                   dtype=np.uint8)):
      mask = self.segmenter(image)
      self.assertEqual(mask.shape, image.shape[:2])
      self.assertLess(mask.mean(), 0.1)

  def test_real_faces_are_person_and_the_frame_edge_around_them_is_not(self):
    faces = shared_data.require(shared_data.FACES_DIR)
    detector = face_detector.FaceDetector("hog")
    predictor = landmarks_lib.LandmarkDetector()
    inner, outer = [], []
    for name in PHOTOS:
      rgb = cv2.cvtColor(cv2.imread(os.path.join(faces, name)),
                         cv2.COLOR_BGR2RGB)
      box = max(detector.detect(rgb),
                key=lambda b: (b.right - b.left) * (b.bottom - b.top))
      aligned, points, inside = landmarks_lib.align(rgb, predictor(rgb, box))
      mask = self.segmenter(aligned)
      hull = np.zeros(mask.shape, np.uint8)
      cv2.fillConvexPoly(hull, cv2.convexHull(points.astype(np.int32)), 1)
      inner.append(mask[hull > 0].mean())
      # The paper's frame: its top corners lie above and beside the head.
      outer.append(np.mean([mask[:20, :20].mean(), mask[:20, -20:].mean()]))
      self.assertGreater(inside.mean(), 0.5, name)
    self.assertGreater(np.mean(inner), 0.95)
    self.assertGreater(min(inner), 0.8)
    self.assertLess(np.mean(outer), 0.2)

  def test_faded_edges(self):
    inside = np.zeros((6, 12), np.float32)
    inside[:, 4:] = 1  # The photo's left edge at column 4; the frame's own
    # top, bottom and right borders are not edges.
    faded = person_segmenter.faded_edges(inside, pixels=4)
    self.assertAllClose(faded, np.tile(
        [0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1], (6, 1)), atol=0.02)

  def test_on_background(self):
    rgb = np.array([[[10, 100, 200], [50, 50, 50]]], np.uint8)
    person = np.array([[1.0, 0.25]])
    # 0.25 * 50 + 0.75 * 255 = 203.75 -> 204.
    self.assertAllEqual(person_segmenter.on_background(rgb, person),
                        [[[10, 100, 200], [204, 204, 204]]])


if __name__ == "__main__":
  tf.test.main()
