"""Face decoder: data prep on real photos, a short CPU training run, export."""

import os
import shutil

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from data_prep import prepare_decoder_data_lib as lib
from s2f_tf import face_decoder_input
from s2f_tf import face_decoder_trainer
from s2f_tf import frozen_heads
from s2f_tf import media
from s2f_tf import run_record
from s2f_tf import train_config
from s2f_tf.faces import face_detector
from s2f_tf.faces import landmarks as landmarks_lib
from s2f_tf.faces import person_segmenter
from s2f_tf.losses import face_decoder_loss
from s2f_tf.models import face_decoder
from tests import binaries
from tests import fake_shards
from tests import media_factory
from tests import shared_data
from tfrecords_schema import face_decoder_example
from tfrecords_schema import shard_summary

BINARY = os.path.join(shared_data.REPO_ROOT, "experiments",
                      "train_face_decoder.py")
CONFIGS = os.path.join(shared_data.REPO_ROOT, "experiments", "configs",
                       "face_decoder")
TINY = os.path.join(CONFIGS, "tiny.json")
REAL_FACES = ("img1.jpg", "img10.jpg", "img12.jpg", "img14.jpg", "img16.jpg",
              "img2.jpg")


def fake_fc7(crops):
  """Stand-in for VGG-Face (no weights here): per-crop colour statistics."""
  crops = crops.astype(np.float64)
  stats = np.concatenate([crops.mean(axis=(1, 2)), crops.std(axis=(1, 2)),
                          crops[:, 64:160, 64:160].mean(axis=(1, 2))], -1)
  return np.tile(stats / 64.0, (1, 4096 // 9 + 1))[:, :4096].astype(
      np.float32)


def fake_loader():
  return lib.DecoderDataModels(face_detector.FaceDetector("cnn"),
                               landmarks_lib.LandmarkDetector(), fake_fc7,
                               segmenter=person_segmenter.PersonSegmenter())


def build_image_folder(root):
  """Real face photos (shared data, else the astronaut) + two bad images."""
  folder = os.path.join(root, "photos")
  os.makedirs(folder)
  good = 0
  if os.path.isdir(shared_data.FACES_DIR):
    for name in REAL_FACES:
      shutil.copy(os.path.join(shared_data.FACES_DIR, name), folder)
      good += 1
    shutil.copy(os.path.join(shared_data.FACES_DIR, "couple.jpg"),
                os.path.join(folder, "several.jpg"))
  else:
    for i, side in enumerate((720, 640, 600)):
      media_factory.write_png(os.path.join(folder, f"astronaut{i}.png"),
                              media_factory.astronaut(side))
      good += 1
    media_factory.write_png(os.path.join(folder, "several.png"),
                            media_factory.two_faces())
  media_factory.write_png(os.path.join(folder, "noface.png"),
                          media_factory.no_face_image())
  return folder, good


def run_binary(*args):
  return binaries.run_ok([BINARY, *args])


class FaceDecoderTest(tf.test.TestCase, parameterized.TestCase):

  def test_prep_train_export_resume(self):
    root = self.create_tempdir().full_path
    folder, good = build_image_folder(root)
    data = os.path.join(root, "data")
    summary = lib.run(folder, lib.DecoderDataOptions(output_dir=data),
                      fake_loader)
    self.assertEqual(summary["examples"], 2 * good)  # each photo + its flip
    self.assertEqual(summary["skipped"], {"no_face": 1, "several_faces": 1})
    mean = np.asarray(summary["mean_landmarks"])
    self.assertEqual(mean.shape, (68, 2))
    # Aligned frame: eye and mouth centres of the mean shape near the template.
    self.assertAllClose(landmarks_lib.anchor_points(mean),
                        landmarks_lib.FRAMES["paper"], atol=4.0)
    # Two worker processes, one shard per photo: the same data.
    pooled = lib.run(folder, lib.DecoderDataOptions(
        output_dir=os.path.join(root, "pooled"), examples_per_shard=2),
                     fake_loader, workers=2)
    self.assertEqual(pooled["examples"], summary["examples"])
    self.assertEqual(pooled["skipped"], summary["skipped"])
    self.assertAllClose(pooled["mean_landmarks"], mean, atol=1e-6)

    workdir = os.path.join(root, "run")
    common = ["--config", TINY, "--workdir", workdir, "--data_dir", data,
              "--deterministic"]
    run_binary(*common, "--train_steps", "60", "--log_every", "1")
    metrics = run_record.read_metrics(workdir)
    self.assertEqual([m["step"] for m in metrics], list(range(1, 61)))
    for name in ("losses/landmark_mse", "losses/texture_l1"):
      values = np.array([m[name] for m in metrics])
      self.assertTrue(np.all(np.isfinite(values)))
      # Windows of 6 steps cover every batch of the cycling tiny data set.
      self.assertLess(values[-6:].mean(), 0.8 * values[:6].mean(), name)
    tags = set()
    for path in tf.io.gfile.glob(os.path.join(workdir, "train", "events.*")):
      for event in tf.compat.v1.train.summary_iterator(path):
        tags.update(v.tag for v in event.summary.value)
    self.assertContainsSubset(face_decoder_trainer.IMAGE_TAGS, tags)
    self.assertIn("faces/4_decoded_image", tags)

    exported = os.path.join(workdir, face_decoder_trainer.EXPORT_DIR,
                            face_decoder_trainer.DECODER_FILE)
    image_model = keras.models.load_model(exported)
    features = np.random.RandomState(0).rand(2, 4096).astype(np.float32)
    image = np.asarray(image_model(features))
    self.assertEqual(image.shape, (2, 224, 224, 3))
    self.assertBetween(float(image.min()), 0.0, 1.0)
    fc, decoder = frozen_heads.load_face_decoder(exported)
    self.assertEqual(fc.kernel.shape, (4096, 1000))
    self.assertEqual(decoder.trainable_variables, [])

    log = run_binary(*common, "--train_steps", "65", "--log_every", "5")
    self.assertIn("Resumed from", log)
    self.assertEqual([m["step"] for m in run_record.read_metrics(workdir)][
        -2:], [60, 65])
    # A run already at its last step trains nothing but still exports what
    # its checkpoint holds (an interrupted export is not lost).
    before = keras.models.load_model(exported)(features)
    logged = len(run_record.read_metrics(workdir))
    os.remove(exported)
    log = run_binary(*common, "--train_steps", "65")
    self.assertIn("Already at step 65 of 65", log)
    self.assertAllClose(keras.models.load_model(exported)(features), before)
    self.assertLen(run_record.read_metrics(workdir), logged)  # no step

  def test_decoded_faces_have_no_saturated_clusters(self):
    """A tiny decoder trained as long as the demo's (600 steps) on real
    photos decodes faces without the saturated blot that BN in the texture
    branch produced at the face centre (~100 pure-white pixels)."""
    faces = shared_data.require(shared_data.FACES_DIR)
    root = self.create_tempdir().full_path
    folder = os.path.join(root, "photos")
    os.makedirs(folder)
    for name in sorted(os.listdir(faces)):
      if name.startswith("img") and name.endswith(".jpg") and len(
          os.listdir(folder)) < 16 and name != "img47.jpg":
        shutil.copy(os.path.join(faces, name), folder)
    data = os.path.join(root, "data")
    # The photo's own background: white background pixels would count.
    lib.run(folder, lib.DecoderDataOptions(
        output_dir=data, frame="tight", background="photo"), fake_loader)
    config = train_config.DecoderTrainConfig.load(TINY).replace(
        data_dir=data, train_steps=600, log_every=600, image_every=600,
        checkpoint_every=600)
    loop = face_decoder_trainer.trainer(config, os.path.join(root, "run"))
    loop.train()
    batch = next(iter(face_decoder_input.make_dataset(
        os.path.join(data, "*.tfrecord"), loop.task.mean_landmarks, 16,
        False)))
    images = np.asarray(loop.model(batch["fc7"], training=False)["image"])
    centre = images[:, 56:168, 56:168]  # the face; hair and border excluded
    white = centre.min(-1) >= 0.99
    saturated_colour = (centre.max(-1) >= 0.99) & (centre.min(-1) <= 0.01)
    per_image = (white | saturated_colour).reshape(len(images), -1).sum(1)
    self.assertLessEqual(int(per_image.max()), 3, per_image)

  @parameterized.parameters("default.json", "tiny.json", "demo.json",
                            "real_pairs.json", "shipped.json")
  def test_every_shipped_config_runs(self, name):
    root = self.create_tempdir().full_path
    data = fake_shards.write_decoder_data(os.path.join(root, "data"), 2)
    workdir = os.path.join(root, "run")
    run_binary("--config", os.path.join(CONFIGS, name), "--workdir", workdir,
               "--data_dir", data, "--train_steps", "1", "--batch_size", "2",
               "--log_every", "1", "--shuffle_buffer", "4")
    config = train_config.DecoderTrainConfig.load(os.path.join(
        workdir, run_record.CONFIG_FILE))
    self.assertEqual(config.decoder, {"default.json": "full",
                                      "shipped.json": "small"}.get(name,
                                                                  "tiny"))
    self.assertEqual(run_record.read_metrics(workdir)[0]["step"], 1)
    self.assertTrue(os.path.exists(os.path.join(
        workdir, face_decoder_trainer.EXPORT_DIR,
        face_decoder_trainer.DECODER_FILE)))

  def test_two_mirrored_replicas_train_like_one_device(self):
    """The decoder trains under tf.distribute: 2 CPU replicas, each half of
    the global batch, give one device's losses (no BN: float noise only)."""
    root = self.create_tempdir().full_path
    data = fake_shards.write_decoder_data(os.path.join(root, "data"), 4)
    losses = {}
    for name, extra in (("one", []), ("two", ["--strategy", "mirrored",
                                              "--num_cpu_devices", "2"])):
      workdir = os.path.join(root, name)
      log = run_binary("--config", TINY, "--workdir", workdir, "--data_dir",
                       data, "--train_steps", "3", "--batch_size", "4",
                       "--log_every", "1", "--deterministic", *extra)
      losses[name] = [m["losses/total"] for m in
                      run_record.read_metrics(workdir)]
    self.assertIn("2 replicas in sync", log)
    self.assertLen(losses["two"], 3)
    self.assertAllClose(losses["one"], losses["two"], rtol=1e-4)

  def test_loss_terms_per_example_known_answer(self):
    rng = np.random.RandomState(0)
    outputs = {"landmarks": rng.rand(2, 68, 2) * 224,
               "texture": rng.rand(2, 224, 224, 3),
               "image": rng.rand(2, 224, 224, 3)}
    batch = {"landmarks": rng.rand(2, 68, 2) * 224,
             "texture": rng.rand(2, 224, 224, 3), "fc7": rng.rand(2, 8)}
    fc7 = rng.rand(2, 8)
    terms = face_decoder_loss.per_example(
        {k: v.astype(np.float32) for k, v in outputs.items()},
        {k: v.astype(np.float32) for k, v in batch.items()},
        identity_fn=lambda outputs: fc7.astype(np.float32),
        weights=(2.0, 3.0, 0.5))
    for i in range(2):
      lm = np.mean(((outputs["landmarks"][i] - batch["landmarks"][i])
                    / 224.0) ** 2)
      tex = np.mean(np.abs(outputs["texture"][i] - batch["texture"][i]))
      cos = fc7[i] @ batch["fc7"][i] / (np.linalg.norm(fc7[i]) *
                                        np.linalg.norm(batch["fc7"][i]))
      self.assertAllClose(terms["landmark_mse"][i], lm, rtol=1e-5)
      self.assertAllClose(terms["texture_l1"][i], tex, rtol=1e-5)
      self.assertAllClose(terms["identity"][i], 1 - cos, rtol=1e-5)
      self.assertAllClose(terms["total"][i],
                          2 * lm + 3 * tex + 0.5 * (1 - cos), rtol=1e-5)

  def test_decoder_shapes_and_mean_start(self):
    mean = np.random.RandomState(0).uniform(40, 180, (68, 2))
    model = face_decoder.build_face_decoder(
        mean, face_decoder.Spec((8, 8, 8, 4, 4), 8))
    out = model(np.random.rand(3, 4096).astype(np.float32))
    self.assertEqual(out["image"].shape, (3, 224, 224, 3))
    self.assertEqual(out["texture"].shape, (3, 224, 224, 3))
    # Zero-initialised offsets: an untrained decoder predicts the mean shape,
    # so the warp is the identity and image == the texture clipped to [0, 1].
    self.assertAllClose(out["landmarks"], np.repeat(mean[None], 3, 0),
                        atol=1e-4)
    self.assertAllClose(out["image"], np.clip(out["texture"], 0, 1),
                        atol=1e-3)
    self.assertBetween(float(np.min(out["image"])), 0.0, 1.0)
    self.assertBetween(float(np.max(out["image"])), 0.0, 1.0)
    self.assertEqual(model.get_layer("fc1000").kernel.shape, (4096, 1000))

  def test_init_decoder_copies_a_saved_decoders_weights(self):
    rng = np.random.RandomState(1)
    mean = rng.uniform(60, 160, (68, 2))
    spec = face_decoder.SPECS["tiny"]
    saved = face_decoder.build_face_decoder(mean, spec, feature_dim=128)
    path = os.path.join(self.create_tempdir().full_path, "decoder.keras")
    face_decoder.image_model(saved).save(path)
    fresh = face_decoder.build_face_decoder(mean, spec, feature_dim=128)
    feature = rng.rand(2, 128).astype(np.float32)
    self.assertNotAllClose(fresh(feature)["image"], saved(feature)["image"])
    face_decoder.copy_weights(path, fresh)
    self.assertAllClose(fresh(feature)["image"], saved(feature)["image"],
                        atol=1e-6)
    with self.assertRaisesRegex(ValueError, "fc1000.*same --decoder width"):
      face_decoder.copy_weights(path, face_decoder.build_face_decoder(
          mean, spec, feature_dim=4096))
    with self.assertRaisesRegex(FileNotFoundError, "--init_decoder"):
      face_decoder.copy_weights(path + ".missing", fresh)

  def test_full_size_parameter_count(self):
    mean = np.zeros((68, 2))
    model = face_decoder.build_face_decoder(mean + 100.0)
    dense = lambda i, o: i * o + o
    deconv = lambda i, o: 16 * i * o + o
    widths = (256,) + face_decoder.TEXTURE_CHANNELS
    hand = (dense(4096, 1000) + dense(1000, 256) + dense(256, 136) +
            dense(1000, 7 * 7 * 256) +
            sum(deconv(widths[i], widths[i + 1]) for i in range(5)) +
            (9 * 32 * 3 + 3))
    self.assertEqual(model.count_params(), hand)  # no BN by default
    with_bn = face_decoder.build_face_decoder(mean + 100.0,
                                              use_batch_norm=True)
    # BN: gamma, beta, moving mean and variance per channel.
    self.assertEqual(with_bn.count_params(), hand + 4 * sum(widths[1:]))

  def test_cached_examples_are_the_uncached_to_half_an_8bit_level(self):
    root = self.create_tempdir().full_path
    data = fake_shards.write_decoder_data(os.path.join(root, "data"), 6)
    summary = shard_summary.read_decoder_data(data)
    batches = []
    for cache in (False, True):
      batches.append(next(iter(face_decoder_input.make_dataset(
          summary["pattern"], summary["mean_landmarks"], 6, False,
          deterministic=True, cache=cache, teacher=summary["teacher"]["name"]
          ))))
    plain, cached = batches
    for key in ("image", "texture"):
      self.assertEqual(cached[key].dtype, tf.float32)
      self.assertAllClose(cached[key], plain[key], atol=0.5 / 255 + 1e-6)
    self.assertAllEqual(cached["image"], plain["image"])  # 8-bit already
    self.assertAllEqual(cached["fc7"], plain["fc7"])

  def test_a_resumed_stream_continues_the_shuffled_order(self):
    # skip_examples passes over shuffled records (or cached 8-bit
    # tensors), not parsed faces, and lands where the first run was.
    root = self.create_tempdir().full_path
    data = fake_shards.write_decoder_data(os.path.join(root, "data"), 6)
    summary = shard_summary.read_decoder_data(data)

    def fc7s(cache, skip, batches):
      ds = face_decoder_input.make_dataset(
          summary["pattern"], summary["mean_landmarks"], 2, True,
          seed=7, shuffle_buffer=4, cache=cache, skip_examples=skip,
          teacher=summary["teacher"]["name"])
      return np.concatenate([b["fc7"].numpy() for b in ds.take(batches)])

    for cache in (False, True):
      whole = fc7s(cache, 0, 8)  # 16 examples: over two epochs of 6
      self.assertAllEqual(fc7s(cache, 10, 3), whole[10:16])
    # The same order with and without the cache.
    self.assertAllEqual(fc7s(True, 0, 8), fc7s(False, 0, 8))

  def test_linked_photo_folders_are_read(self):
    # The real-pairs job links --extra_faces into its photo folder; the old
    # listing did not follow links, so every extra face was silently left out.
    root = self.create_tempdir().full_path
    extra = os.path.join(root, "extra_faces", "sub")
    os.makedirs(extra)
    for name in ("a.jpg", "b.png", "notes.txt"):
      open(os.path.join(extra, name), "wb").close()
    photos = os.path.join(root, "photos")
    os.makedirs(os.path.join(photos, "pairs"))
    open(os.path.join(photos, "pairs", "c.jpg"), "wb").close()
    os.symlink(os.path.join(root, "extra_faces"),
               os.path.join(photos, "extra"))
    self.assertEqual(
        [os.path.relpath(p, photos) for p in lib.list_images(photos)],
        ["extra/sub/a.jpg", "extra/sub/b.png", "pairs/c.jpg"])

  def test_aligned_chips_are_read_without_detection(self):
    """Photos under `aligned_dirs` (aligned face chips such as UTKFace's)
    skip face detection: the detector is never called for them, and their
    landmarks land where the detector's box puts them."""
    import dlib  # pylint: disable=g-import-not-at-top
    root = self.create_tempdir().full_path
    chips = os.path.join(root, "photos", "chips")
    os.makedirs(chips)
    hog = dlib.get_frontal_face_detector()
    five = dlib.shape_predictor(face_detector.model_path(
        "shape_predictor_5_face_landmarks.dat"))
    faces = shared_data.require(shared_data.FACES_DIR)
    for name in REAL_FACES:
      rgb = media.read_image(os.path.join(faces, name))
      rect = max(hog(rgb, 0), key=lambda r: r.area())
      # dlib's own chip (200 px, its default padding), as UTKFace's are.
      chip = dlib.get_face_chip(rgb, five(rgb, rect), 200, 0.25)
      media_factory.write_png(os.path.join(chips, name[:-4] + ".png"), chip)

    calls = []

    class CountingDetector(face_detector.FaceDetector):

      def detect(self, rgb):
        calls.append(rgb.shape)
        return super().detect(rgb)

    def loader():
      return lib.DecoderDataModels(
          CountingDetector("hog"), landmarks_lib.LandmarkDetector(),
          fake_fc7, segmenter=person_segmenter.PersonSegmenter())

    def landmarks(aligned_dirs):
      summary = lib.run(os.path.join(root, "photos"), lib.DecoderDataOptions(
          output_dir=os.path.join(root, "out" + "".join(aligned_dirs)),
          flips=False, aligned_dirs=aligned_dirs), loader)
      out = {}
      for path in tf.io.gfile.glob(summary["pattern"]):
        for record in tf.data.TFRecordDataset(path):
          example = face_decoder_example.decode(record.numpy())
          out[example["image_id"].numpy()] = example["landmarks"].numpy()
      return out

    detected = landmarks(())
    self.assertLen(calls, len(REAL_FACES))
    del calls[:]
    aligned = landmarks(("chips",))
    self.assertEqual(calls, [])
    self.assertEqual(set(aligned), set(detected))
    self.assertLen(aligned, len(REAL_FACES))
    for image_id, points in aligned.items():
      # In the 224 px aligned frame: within a few pixels of the detected
      # box's landmarks.
      self.assertLess(np.abs(points - detected[image_id]).mean(), 3.0,
                      image_id)

  def test_white_background_and_paper_frame(self):
    """The default job puts the person on white in the paper's frame: the
    frame's top corners (beside and above the head) are white, the face's
    own pixels are not; with the photo's background they are not white."""
    faces = shared_data.require(shared_data.FACES_DIR)
    root = self.create_tempdir().full_path
    folder = os.path.join(root, "photos")
    os.makedirs(folder)
    for name in REAL_FACES:
      shutil.copy(os.path.join(faces, name), folder)

    def corners_and_face(**options):
      summary = lib.run(folder, lib.DecoderDataOptions(
          output_dir=os.path.join(root, "+".join(options.values())),
          flips=False, **options), fake_loader)
      self.assertEqual(summary["options"]["background"],
                       options["background"])
      corners, centres = [], []
      for path in tf.io.gfile.glob(summary["pattern"]):
        for record in tf.data.TFRecordDataset(path):
          example = face_decoder_example.decode(record.numpy())
          image = example["aligned_image"].numpy()
          corners.append(np.concatenate([image[:16, :16], image[:16, -16:]]))
          eyes = landmarks_lib.anchor_points(example["landmarks"].numpy())
          x, y = eyes[:2].mean(0).astype(int)
          centres.append(image[y:y + 30, x - 15:x + 15])  # the nose
      return np.stack(corners), np.stack(centres)

    corners, centres = corners_and_face(frame="paper", background="white")
    self.assertLen(corners, len(REAL_FACES))
    self.assertGreater(np.mean(corners.min(-1) >= 250), 0.9)
    self.assertLess(np.mean(centres.min(-1) >= 250), 0.05)
    corners, _ = corners_and_face(frame="paper", background="photo")
    self.assertLess(np.mean(corners.min(-1) >= 250), 0.5)

  def test_bad_images_are_counted_skips(self):
    root = self.create_tempdir().full_path
    folder = os.path.join(root, "photos")
    os.makedirs(folder)
    with open(os.path.join(folder, "corrupt.jpg"), "wb") as f:
      f.write(b"not a jpeg")
    media_factory.write_png(os.path.join(folder, "noface.png"),
                            media_factory.no_face_image())
    summary = lib.run(folder, lib.DecoderDataOptions(
        output_dir=os.path.join(root, "out")), fake_loader)
    self.assertEqual(summary["examples"], 0)
    self.assertEqual(summary["skipped"], {"unreadable_media": 1,
                                          "no_face": 1})


if __name__ == "__main__":
  tf.test.main()
