"""The product a user runs: the `s2f` command (predict, export, serve, demo) and `s2f serve`'s page.

It uses the library (`speech_to_face`, `model_export`) and never imports the
research wing (`experiments/`) at module level: `s2f demo` hands over to
`experiments.app.demo_lib` when it runs.
"""

from s2f_tf import console as _console

_console.quiet_by_default()
