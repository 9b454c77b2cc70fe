"""Shard generation jobs: media -> dlib face crop + VGG-Face fc7 + audio -> TFRecords."""

from s2f_tf import console as _console  # pylint: disable=g-import-not-at-top

_console.quiet_by_default()
