"""s2f's binaries, configs, evaluation, demo and benchmarks."""

from s2f_tf import console as _console  # pylint: disable=g-import-not-at-top

_console.quiet_by_default()
