"""The one TFRecord feature spec of s2f, imported by every writer and reader.

No other module spells a feature key: they call `speech_face.encode` /
`speech_face.decode` (and the face-decoder twins). A test enforces this.
"""
