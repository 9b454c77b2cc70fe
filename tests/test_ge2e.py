"""Tests of the GE2E port: resemblyzer's own d-vectors, its partial rule, its mel filters."""

import os

import numpy as np
import tensorflow as tf

from s2f_tf.models import ge2e

REFERENCE = os.path.join(os.path.dirname(__file__), "testdata",
                         "ge2e_reference.npz")


def _references():
  with np.load(REFERENCE) as npz:
    names = sorted(k.split("/", 1)[1] for k in npz.files
                   if k.startswith("pcm16/"))
    return [(n, npz[f"pcm16/{n}"].astype(np.float32) / 32768.0,
             npz[f"dvector/{n}"]) for n in names]


class Ge2eTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.layer = ge2e.pretrained()

  def test_dvectors_equal_resemblyzers_own(self):
    # References: resemblyzer 0.1.4's embed_utterance on the same samples
    # (experiments/convert_ge2e_weights.py); clips of 1, 2, 3 and 7
    # partials, one quiet (volume raised).
    for name, wav, expected in _references():
      actual = np.asarray(self.layer(wav[None]))[0]
      cosine = float(actual @ expected / np.linalg.norm(actual) /
                     np.linalg.norm(expected))
      self.assertGreater(cosine, 0.999, name)
      self.assertAllClose(actual, expected, atol=1e-4, msg=name)

  def test_inside_a_graph_with_unknown_length(self):
    name, wav, expected = _references()[0]
    fn = tf.function(self.layer, input_signature=[
        tf.TensorSpec([None, None], tf.float32)])
    self.assertAllClose(fn(tf.constant(wav[None]))[0], expected, atol=1e-4,
                        msg=name)

  def test_batch_equals_one_by_one(self):
    refs = [r for r in _references() if r[1].shape[0] == 47648]
    batch = np.stack([wav for _, wav, _ in refs])
    out = np.asarray(self.layer(batch))
    for row, (name, _, expected) in zip(out, refs):
      self.assertAllClose(row, expected, atol=1e-4, msg=name)

  def test_partial_count_by_hand(self):
    # 48,000 samples: ceil(48001 / 160) = 301 frames; starts 0, 77, 154;
    # the last covers (48000 - 154 * 160) / 25600 = 0.91 >= 0.75: kept.
    self.assertEqual(int(ge2e.partial_count(48_000)), 3)
    # 40,000: the same starts, but (40000 - 24640) / 25600 = 0.6: dropped.
    self.assertEqual(int(ge2e.partial_count(40_000)), 2)
    # 1 s is less than one partial: one, padded.
    self.assertEqual(int(ge2e.partial_count(16_000)), 1)
    self.assertEqual(ge2e.PARTIAL_STEP, 77)  # round(16000 / 1.3 / 160)

  def test_mel_filters_by_hand(self):
    bank = ge2e.mel_filterbank()
    self.assertEqual(bank.shape, (201, 40))
    # Slaney's scale is linear below 1 kHz: 1000 Hz is 15 mel, 200/3 Hz a mel.
    self.assertAllClose(ge2e.hz_to_mel([0.0, 1000.0, 200.0 / 3]),
                        [0.0, 15.0, 1.0])
    self.assertAllClose(ge2e.mel_to_hz(ge2e.hz_to_mel([440.0, 4000.0])),
                        [440.0, 4000.0])
    # Slaney normalisation: each triangle has area 1 in Hz (2 / width x
    # width / 2), so the weights times the 40 Hz bin spacing sum to ~1 where
    # the triangle spans many bins.
    self.assertAllClose(bank[:, 39].sum() * 40.0, 1.0, atol=0.02)
    # A pure tone at 1 kHz lights the filters whose band holds it.
    edges = ge2e.mel_to_hz(np.linspace(0, ge2e.hz_to_mel(8000.0), 42))
    holding = [i for i in range(40) if edges[i] < 1000 < edges[i + 2]]
    self.assertEqual(sorted(np.nonzero(bank[25])[0].tolist()), holding)

  def test_mel_of_a_tone_by_hand(self):
    # A full-scale 1 kHz sine is bin 25 of the 400-point DFT. The periodic
    # Hann window w = 1/2 - 1/2 cos is three bins wide: |X[25]| =
    # sum(w) / 2 = 100 and |X[24]| = |X[26]| = sum(w) / 4 = 50, so powers
    # 10^4 and 2500 (none elsewhere), times the filters; the clip is loud
    # enough that no gain is applied.
    t = np.arange(16_000) / 16_000.0
    wav = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)[None]
    mel = np.asarray(self.layer.mel(wav))[0]
    bank = ge2e.mel_filterbank()
    expected = 1e4 * bank[25] + 2500.0 * (bank[24] + bank[26])
    self.assertAllClose(mel[50], expected, rtol=1e-3, atol=1e-2)

  def test_rescaled_output_is_mean_plus_scale_times_deviation(self):
    from s2f_tf.models import ge2e_encoder  # pylint: disable=g-import-not-at-top
    model = ge2e_encoder.build_ge2e_encoder(8, head_hidden=16)
    wav = _references()[0][1][None]
    before = np.asarray(model(wav))
    mean = np.linspace(-1, 1, 8).astype(np.float32)
    ge2e_encoder.rescale_output(model, 1.5, mean)
    self.assertAllClose(model(wav), mean + 1.5 * (before - mean), atol=1e-5)

  def test_checkpoints_hold_every_backbone_weight(self):
    # The LSTMs were once held in a list, which TF checkpoints do not see:
    # a fine-tuned backbone came back as resemblyzer's.
    from s2f_tf.models import ge2e_encoder  # pylint: disable=g-import-not-at-top
    model = ge2e_encoder.build_ge2e_encoder(8, head_hidden=16)
    tuned = [w + 0.01 for w in model.get_layer("ge2e").get_weights()]
    model.get_layer("ge2e").set_weights(tuned)
    path = tf.train.Checkpoint(model=model).write(
        os.path.join(self.create_tempdir().full_path, "ckpt"))
    fresh = ge2e_encoder.build_ge2e_encoder(8, head_hidden=16)
    tf.train.Checkpoint(model=fresh).read(path).assert_consumed()
    for actual, expected in zip(fresh.get_layer("ge2e").get_weights(), tuned):
      self.assertAllEqual(actual, expected)

  def test_weights_are_the_converted_file(self):
    self.assertEqual(ge2e.file_sha256(ge2e.WEIGHTS_FILE), ge2e.WEIGHTS_SHA256)

  def test_missing_weights_name_what_to_get(self):
    with self.assertRaisesRegex(FileNotFoundError, "convert_ge2e_weights"):
      ge2e.load_resemblyzer_weights(ge2e.Ge2eDvector(), "/nonexistent.npz")


if __name__ == "__main__":
  tf.test.main()
