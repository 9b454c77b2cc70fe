"""s2f: a TensorFlow/Keras reproduction of Speech2Face (Oh et al., CVPR 2019)."""

__version__ = "0.1.0"
