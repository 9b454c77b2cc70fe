"""How every s2f console script starts: its own --help, and one-line errors.

absl's `--help` lists the key flags of `__main__`, which for an installed
console script is pip's shim (no flags), and exits 1. `run` instead prints
the binary's docstring and the flags s2f itself defines (with help text and
defaults) and exits 0. Errors a user can fix (a missing file, a bad flag
value, unreadable media) end the run with one line `error: ...` on stderr and
exit status 1; `S2F_TRACEBACK=1` shows the traceback instead.
"""

import contextlib
import difflib
import gc
import logging
import os
import sys
import textwrap

from absl import app
from absl import flags

HELP_ARGS = ("--help", "-h", "--helpshort", "-?", "-help")
VERBOSITY_ARGS = ("--verbosity", "-v", "--v")
# Loggers of libraries whose warnings are known to be harmless here; shown
# again with --verbosity.
QUIET_LOGGERS = ("apache_beam",)
# Beam's start-up notices, harmless here, that come on the root logger (so no
# logger level can hold them): on import (no GCP client libraries) and in
# each local worker process (no worker folder). Shown again with --verbosity.
BEAM_NOTICES = ("apitools not found, and bigquery "
                "client libraries are not available",
                "No semi_persistent_directory found")
# Modules whose flags are s2f's own (the rest come from absl, TF, Beam).
OWN_PACKAGES = ("s2f_tf", "experiments", "data_prep")
TRACEBACK_ENV = "S2F_TRACEBACK"
# Exceptions that mean "fix your input", not "s2f has a bug".
USER_ERRORS = (app.UsageError, FileNotFoundError, NotADirectoryError,
               IsADirectoryError, PermissionError, ValueError)


@contextlib.contextmanager
def long_lived():
  """Objects made inside live as long as the process (imports, a loaded
  model): no garbage collection while they are made, then frozen
  (`gc.freeze`), so neither later collections nor the interpreter's exit
  walk them again.

  TensorFlow's and Keras's imports alone leave ~640k tracked objects; each
  collection while they load, and the last ones at exit, walk them all.
  `s2f predict`'s cold start is about a second shorter with this
  (experiments/bench/bench_predict_cold.py).
  """
  enabled = gc.isenabled()
  gc.disable()
  try:
    yield
  finally:
    gc.freeze()
    if enabled:
      gc.enable()


def _asks_verbosity(argv):
  return any(a.split("=")[0] in VERBOSITY_ARGS for a in argv[1:])


def quiet_by_default(argv=None):
  """Silences TensorFlow's C++ logs (cuDNN/cuBLAS registration, TensorRT,
  rendezvous notices) unless the command line asks for --verbosity. Must
  run before TensorFlow is imported: the binaries' packages call it."""
  if not _asks_verbosity(sys.argv if argv is None else argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _quiet_loggers()


def is_beam_notice(text):
  """Whether a log message or line is one of `BEAM_NOTICES`."""
  return any(notice in text for notice in BEAM_NOTICES)


class _DropBeamNotices(logging.Filter):

  def filter(self, record):
    return not is_beam_notice(record.getMessage())


def _quiet_loggers():
  for name in QUIET_LOGGERS:
    logging.getLogger(name).setLevel(logging.ERROR)
  root = logging.getLogger()
  if not any(isinstance(f, _DropBeamNotices) for f in root.filters):
    root.addFilter(_DropBeamNotices())


def require_path(flag_name, path, kind="file"):
  """Raises UsageError naming `--flag_name` unless `path` is a `kind`.

  kind: 'file', 'dir', or 'pattern' (a glob that must match something).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  found = {"file": os.path.isfile, "dir": os.path.isdir,
           "pattern": lambda p: bool(tf.io.gfile.glob(p))}[kind](path)
  if not found:
    what = {"file": "no such file", "dir": "no such folder",
            "pattern": "matches no files"}[kind]
    raise app.UsageError(f"--{flag_name}={path}: {what}")
  return path


def _own(module_name):
  return (module_name == sys.argv[0] or module_name.endswith(".py")
          or module_name.split(".")[0] in OWN_PACKAGES)


def own_flags(only=None):
  """s2f's flags of this process (those named in `only`, when given)."""
  seen = {}
  for module, module_flags in flags.FLAGS.flags_by_module_dict().items():
    if _own(module):
      for flag in module_flags:
        seen.setdefault(flag.name, flag)
  names = sorted(seen) if only is None else [n for n in only if n in seen]
  return [seen[n] for n in names]


def help_text(doc, only=None):
  """The binary's docstring followed by each own flag, help and default."""
  lines = [textwrap.dedent(doc or "").strip(), "", "flags:"]
  for flag in own_flags(only):
    lines.append(f"  --{flag.name}: {flag.help}")
    if _is_required(flag):
      lines.append("    (required)")
    elif flag.default is not None:
      lines.append(f"    (default: {flag.default_as_str})")
  lines += ["", "Try --helpfull for absl's and TensorFlow's flags too."]
  return "\n".join(lines)


def _is_required(flag):
  """Whether absl's `required=True` validator guards `flag`."""
  return any("must have a value other than None" in str(
      getattr(v, "message", "")) for v in flag.validators)


def nearest(name, choices):
  """' (did you mean X?)' for the closest of `choices`, else ''."""
  close = difflib.get_close_matches(name, list(choices), 1, 0.5)
  return f" (did you mean {close[0]}?)" if close else ""


def unknown_flag(argv, only=None):
  """The first `--flag` of `argv` that no module defines, with the nearest
  of this command's own flags; None when all are known. Arguments after
  `--` belong to someone else (Beam's runner options)."""
  known = set(flags.FLAGS)
  for arg in argv[1:]:
    if arg == "--":
      return None
    if not arg.startswith("-") or arg == "-":
      continue
    name = arg.lstrip("-").split("=", 1)[0]
    if name in known or (name.startswith("no") and name[2:] in known):
      continue
    own = [f"--{f.name}" for f in own_flags(only)]
    return f"unknown flag --{name}{nearest('--' + name, own)}"
  return None


def _one_line(error):
  text = " ".join(str(error).split())
  return f"error: {text or type(error).__name__}"


def write_json(path, value):
  """Writes `value` as JSON to `path` atomically (a temp file renamed);
  nothing when `path` is empty (an optional --out)."""
  if not path:
    return
  import json  # pylint: disable=g-import-not-at-top
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(value, f, indent=2, default=float)
  os.replace(tmp, path)


def run(main, doc, argv=None, only=None):
  """absl.app.run(main) with s2f's --help and one-line user errors.

  Args:
    main: the binary's main(argv).
    doc: what --help prints above the flags (the binary's docstring).
    argv: the command line (default sys.argv).
    only: names of the flags this command uses (default: all of s2f's).
  """
  argv = list(sys.argv if argv is None else argv)
  if any(arg in HELP_ARGS for arg in argv[1:]):
    print(help_text(doc, only))
    sys.exit(0)
  unknown = unknown_flag(argv, only)
  if unknown:
    print(f"error: {unknown}; --help lists the flags", file=sys.stderr)
    sys.exit(1)
  if not _asks_verbosity(argv):
    # Warnings and errors only; progress lines come through
    # `progress.report`. --verbosity=0 brings back INFO.
    argv.insert(1, "--verbosity=-1")
    _quiet_loggers()

  def guarded(args):
    try:
      return main(args)
    except USER_ERRORS as e:
      if os.environ.get(TRACEBACK_ENV):
        raise
      print(_one_line(e), file=sys.stderr)
      # Nothing after the error line: objects torn down at exit (e.g. a
      # checkpoint that failed to restore) would log their own warnings.
      logging.disable(logging.WARNING)
      sys.exit(1)

  app.run(guarded, argv=argv)
