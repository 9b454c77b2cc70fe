"""What both training binaries are: flags -> config -> a trainer's `train`.

Defines --workdir, --config (a JSON file of what differs from the
defaults), --num_cpu_devices (tests: split the CPU into logical devices) and
one flag per leaf of the config class; `main` builds the config and trains.
"""

import importlib
import os

from absl import flags

from s2f_tf import run_config


def define(config_class, default_config):
  flags.DEFINE_string("workdir", None, "Run directory (resumed if it exists).",
                      required=True)
  flags.DEFINE_string("config", default_config,
                      "JSON config; flags below override its fields.")
  flags.DEFINE_integer("num_cpu_devices", 0,
                       "Split the CPU into this many logical devices (tests).")
  run_config.define_flags(config_class)


CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "configs")


def binary(config_class, default_config, trainer_module, doc):
  """Defines the flags and returns the binary's `run` (its console script):
  flags -> config_class -> trainer_module.train(config, workdir).
  `default_config` is relative to experiments/configs."""
  define(config_class, os.path.join(CONFIG_DIR, default_config))
  main = main_fn(config_class, trainer_module)
  from s2f_tf import console  # pylint: disable=g-import-not-at-top
  return lambda: console.run(main, doc)


def main_fn(config_class, trainer_module):
  """absl main: flags -> config_class -> trainer_module.train(config,
  workdir). The trainer (TensorFlow, Keras) is imported only then, so
  `--help` answers without it."""
  def main(argv):
    del argv
    values = flags.FLAGS
    config = run_config.from_flags(config_class, values.config)
    from s2f_tf import strategy as strategy_lib  # pylint: disable=g-import-not-at-top
    if values.num_cpu_devices:
      strategy_lib.split_cpu(values.num_cpu_devices)
    importlib.import_module(trainer_module).train(config, values.workdir)
  return main
