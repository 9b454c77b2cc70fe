"""dlib's face network in Keras: file reader, layers, chip cutting, agreement with dlib."""

import glob
import os
import struct
import unittest

import cv2
import numpy as np
import tensorflow as tf

from s2f_tf.faces import face_descriptor
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.models import dlib_resnet
from s2f_tf.models import dlib_resnet_weights
from s2f_tf.models import face_chip
from tests import shared_data


def _cosine(a, b):
  return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b,
                                                                       axis=-1)


class ReaderTest(tf.test.TestCase):
  """dlib's serialization primitives, from bytes written by hand."""

  def test_primitives(self):
    # 300 = 0x012C: control byte 2 (two bytes), little-endian 2C 01;
    # -5: control 0x81, byte 05; 0.75 = 3 * 2^-2; 'ab'; '1'; a 1x1x1x2 tensor.
    data = (bytes([0x02, 0x2C, 0x01, 0x81, 0x05, 0x01, 0x03, 0x81, 0x02,
                   0x01, 0x02]) + b"ab" + b"1" + bytes([0x01, 0x02]) +
            bytes([0x01, 0x01] * 3 + [0x01, 0x02]) +
            struct.pack("<2f", 1.5, -2.0))
    reader = dlib_resnet_weights._Reader(data)  # pylint: disable=protected-access
    self.assertEqual(reader.integer(), 300)
    self.assertEqual(reader.integer(), -5)
    self.assertEqual(reader.real(), 0.75)
    self.assertEqual(reader.string(), "ab")
    self.assertTrue(reader.boolean())
    self.assertAllEqual(reader.tensor(), [[[[1.5, -2.0]]]])
    self.assertEqual(reader.position, len(data))
    with self.assertRaisesRegex(dlib_resnet_weights.FormatError, "ends early"):
      reader.integer()

  def test_missing_file_names_what_to_get(self):
    with self.assertRaisesRegex(FileNotFoundError, "face-recognition-models"):
      dlib_resnet_weights.read("/nonexistent/net.dat")

  def test_truncated_file_is_a_format_error(self):
    path = os.path.join(self.get_temp_dir(), "cut.dat")
    with open(dlib_resnet_weights.default_path(), "rb") as f:
      head = f.read(100_000)
    with open(path, "wb") as f:
      f.write(head)
    with self.assertRaises(dlib_resnet_weights.FormatError):
      dlib_resnet_weights.read(path)


class ArchitectureTest(tf.test.TestCase):

  def test_golden_parameter_count(self):
    model = dlib_resnet.build()
    self.assertEqual(model.count_params(), dlib_resnet.PARAMETER_COUNT)
    # 29 convolutions (dlib's description of the network), 29 affines, 1 FC.
    kinds = [type(layer).__name__
             for layer in dlib_resnet.weighted_layers(model)]
    self.assertEqual(kinds.count("Conv2D"), 29)
    self.assertEqual(kinds.count("ChannelAffine"), 29)
    self.assertEqual(kinds[-1], "Dense")

  def test_file_holds_every_parameter_once(self):
    parsed = dlib_resnet_weights.read(dlib_resnet_weights.default_path())
    sizes = {"con": lambda f: f["kernel"].size + f["bias"].size,
             "affine": lambda f: f["gamma"].size + f["beta"].size,
             "fc": lambda f: f["kernel"].size}
    total = sum(sizes[kind](fields) for kind, fields in parsed
                if kind in sizes)
    self.assertEqual(total, dlib_resnet.PARAMETER_COUNT)
    self.assertEqual(parsed[0][1]["size"], (150, 150))

  def test_padded_add_against_numpy(self):
    rng = np.random.RandomState(0)
    a = rng.randn(2, 3, 3, 4).astype(np.float32)
    b = rng.randn(2, 4, 4, 2).astype(np.float32)
    expected = np.zeros((2, 4, 4, 4), np.float32)
    expected[:, :3, :3, :] += a
    expected[:, :, :, :2] += b
    self.assertAllClose(dlib_resnet.PaddedAdd()([a, b]), expected)


class AgreementTest(tf.test.TestCase):
  """The Keras copy against dlib itself on real photos that no part of s2f
  trains on (`../shared/data/faces`)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    files = sorted(glob.glob(os.path.join(
        shared_data.require(shared_data.FACES_DIR), "img*.jpg")))
    import dlib  # pylint: disable=g-import-not-at-top
    cls.dlib = dlib
    cls.embedder = face_descriptor.DlibFaceEmbedder()
    detector = landmarks_lib.LandmarkDetector()
    hog = dlib.get_frontal_face_detector()
    cls.aligned, cls.points, cls.shapes5 = [], [], []
    cls.photos, cls.boxes = [], []
    for path in files:
      rgb = np.ascontiguousarray(cv2.imread(path)[..., ::-1])
      rects = hog(rgb, 0)  # The photos' faces are large: no upsampling.
      if not rects:
        continue
      rect = max(rects, key=lambda r: r.area())
      box = type("Box", (), dict(left=rect.left(), top=rect.top(),
                                 right=rect.right(), bottom=rect.bottom()))
      cls.photos.append(rgb)
      cls.boxes.append(box)
      # Each photo in the decoder's 224 px frame, as its training faces are.
      image, points, _ = landmarks_lib.align(rgb, detector(rgb, box))
      cls.aligned.append(image)
      cls.points.append(points)
      cls.shapes5.append(cls.embedder.shape(image))
    cls.aligned = np.stack(cls.aligned)
    cls.points = np.stack(cls.points)
    cls.model = dlib_resnet_weights.load(dlib_resnet.build())

  def test_enough_faces(self):
    self.assertGreaterEqual(len(self.aligned), 50)

  def test_network_equals_dlib_on_dlib_chips(self):
    chips = np.stack([self.dlib.get_face_chip(image, shape, 150, 0.25)
                      for image, shape in zip(self.aligned, self.shapes5)])
    expected = np.stack([np.asarray(self.embedder._net.compute_face_descriptor(  # pylint: disable=protected-access
        chip)) for chip in chips])
    got = np.asarray(self.model(chips.astype(np.float32)))
    # An exact port: float32 round-off only (measured min 0.9999999).
    self.assertGreater(_cosine(got, expected).min(), 0.99999)
    self.assertAllClose(got, expected, atol=1e-4)

  def test_the_data_jobs_batched_teacher_is_dlibs(self):
    """The data jobs' dlib128 teacher runs the Keras copy in batches on
    dlib's chips: the same descriptors as dlib's own, to float noise."""
    faces = self.aligned[:40]
    shapes = self.shapes5[:40]
    batched = face_descriptor.DlibFaceEmbedder(network="keras").embed(
        faces, shapes)
    self.assertAllClose(batched, self.embedder.embed(faces, shapes),
                        atol=1e-5)
    with self.assertRaisesRegex(ValueError, "network must be one of"):
      face_descriptor.DlibFaceEmbedder(network="onnx")

  def test_the_teacher_finds_its_shape_in_the_crops_box(self):
    """With `crop_margin` the teacher's 5 points are found in the detected
    box (the crop's central square) instead of by a second HOG pass: the
    box it uses is the detection carried into the crop by hand, and its
    descriptors stay those of dlib's own recipe (HOG on the crop)."""
    teacher = face_descriptor.DlibFaceEmbedder(
        crop_margin=face_detector.CROP_MARGIN)
    crops, shapes = [], []
    for rgb, box in zip(self.photos[:30], self.boxes[:30]):
      crop = face_detector.crop_face(rgb, box)
      crops.append(crop)
      shapes.append(teacher.shape(crop))
      # The detection in the crop's pixels: the crop is the square of side
      # (1 + margin) x the box's larger side about its centre, resized.
      side = max(box.right - box.left, box.bottom - box.top)
      scale = face_detector.CROP_SIZE / (side * (1 + face_detector.CROP_MARGIN))
      cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
      rect = shapes[-1].rect
      for got, want in ((rect.left(), (box.left - cx) * scale + 112),
                        (rect.top(), (box.top - cy) * scale + 112),
                        (rect.right(), (box.right - cx) * scale + 112),
                        (rect.bottom(), (box.bottom - cy) * scale + 112)):
        self.assertAllClose(got, want, atol=2.0)
    crops = np.stack(crops)
    cosine = _cosine(teacher.embed(crops, shapes), self.embedder.embed(crops))
    # Measured mean 0.9994 on 300 UTKFace crops (bench_decoder_data).
    self.assertGreater(cosine.mean(), 0.995)
    self.assertGreater(cosine.min(), 0.97)

  def test_sampler_cuts_dlibs_chip(self):
    """With a face's own 5 points as the reference, the sampler's chip is
    dlib's `get_face_chip` (dlib rounds down to uint8: within one level,
    plus float32 round-off of the sampling positions; in the paper's frame
    measured max 1.0021 over 62 faces, 0.01 % of pixels above 1.001)."""
    for image, shape in list(zip(self.aligned, self.shapes5))[:8]:
      five = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
      points = np.zeros((68, 2), np.float32)
      points[face_chip.FIVE_POINTS] = five
      sampler = face_chip.ChipSampler.from_reference(points)
      got = np.asarray(sampler([image[None].astype(np.float32),
                                points[None]]))[0]
      expected = self.dlib.get_face_chip(image, shape, 150, 0.25)
      difference = np.abs(got - expected)
      self.assertLessEqual(difference.max(), 1.0 + 1e-2)
      self.assertLess(np.mean(difference > 1.0 + 1e-3), 1e-3)

  def test_copy_agrees_with_the_instrument(self):
    """Sampler (reference: the photos' mean shape, 68 points per face) +
    network against the identity instrument (HOG + dlib's 5-point shape +
    dlib's network) on the same aligned faces."""
    sampler = face_chip.ChipSampler.from_reference(self.points.mean(0))
    chips = sampler([self.aligned.astype(np.float32), self.points])
    got = np.asarray(self.model(chips))
    expected = self.embedder.embed(self.aligned, self.shapes5)
    cosine = _cosine(got, expected)
    # Measured: mean 0.9985, min 0.9954 (dlib's own 68-point chip against
    # its 5-point chip: mean 0.9972, min 0.9941).
    self.assertGreater(cosine.mean(), 0.998)
    self.assertGreater(cosine.min(), 0.995)

  def test_jitter_moves_the_chip_in_training_only(self):
    sampler = face_chip.ChipSampler.from_reference(self.points.mean(0),
                                                   jitter=0.1, seed=3)
    inputs = [self.aligned[:4].astype(np.float32), self.points[:4]]
    exact = face_chip.ChipSampler.from_reference(self.points.mean(0))(inputs)
    self.assertAllClose(sampler(inputs), exact)
    moved = np.asarray(sampler(inputs, training=True))
    # Each example moves by its own draw, by a few pixels at most: the
    # chips differ but stay the same face (dlib's descriptor barely moves).
    self.assertGreater(np.abs(moved - exact).mean(axis=(1, 2, 3)).min(), 1.0)
    cosine = _cosine(np.asarray(self.model(moved)),
                     np.asarray(self.model(exact)))
    self.assertGreater(cosine.min(), 0.9)

  def test_gradient_reaches_the_pixels(self):
    sampler = face_chip.ChipSampler.from_reference(self.points.mean(0))
    images = tf.Variable(self.aligned[:2].astype(np.float32))
    with tf.GradientTape() as tape:
      descriptor = self.model(sampler([images, self.points[:2]]))
      loss = tf.reduce_sum(descriptor[:, 0])
    gradient = tape.gradient(loss, images).numpy()
    self.assertGreater(np.abs(gradient[0]).sum(), 0.0)
    # Only the face's region moves the descriptor: the chip leaves the
    # image's corners out.
    self.assertEqual(np.abs(gradient[:, :5, :5]).sum(), 0.0)


if __name__ == "__main__":
  unittest.main()
