"""Keras models: voice encoder, VGG-Face and the face decoder."""
