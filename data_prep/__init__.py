"""Shard generation jobs: media -> dlib face crop + VGG-Face fc7 + audio -> TFRecords."""
