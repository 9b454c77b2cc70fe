"""s2f: a TensorFlow/Keras reproduction of Speech2Face (Oh et al., CVPR 2019).

In Python, three lines give the face for a voice (an average-looking face
correlated with the voice, never an identity; paper, Sec. 2):

  import s2f_tf
  model = s2f_tf.load()  # the shipped model; or a packaged model folder
  feature, face = model.predict_file("talk.wav")  # or predict_waveform(x)

`face` is a 224 x 224 x 3 uint8 RGB array; `feature` the face teacher's
feature the voice encoder predicts.
"""

__version__ = "0.1.0"


def load(model_dir="", decoder_path=""):
  """The model of a packaged model folder or training workdir ("": the one
  that ships with s2f), as a `speech_to_face.SpeechToFace`: its
  `predict_file(path)` and `predict_waveform(16 kHz mono float32)` return
  (feature, face)."""
  from s2f_tf import speech_to_face  # pylint: disable=g-import-not-at-top
  return speech_to_face.SpeechToFace.from_workdir(model_dir, decoder_path)
