"""Config dataclasses of s2f's binaries: JSON round trip and absl flags.

Every field of a config becomes a flag of the same name whose default is
None (= keep the config file's value), so a binary is: flags -> config ->
library call.
"""

import dataclasses
import json

from absl import flags


class RunConfig:
  """Mixin for @dataclass configs."""

  def to_json(self):
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text):
    values = json.loads(text)
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
      raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**values)

  @classmethod
  def load(cls, path):
    with open(path, encoding="utf-8") as f:
      return cls.from_json(f.read())

  def replace(self, **overrides):
    return dataclasses.replace(self, **overrides)


_DEFINE = {"bool": flags.DEFINE_boolean, "int": flags.DEFINE_integer,
           "float": flags.DEFINE_float, "str": flags.DEFINE_string}


def define_flags(config_class, flag_values=flags.FLAGS):
  """Defines one override flag per field of `config_class`."""
  for field in dataclasses.fields(config_class):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    _DEFINE[kind](field.name, None, f"Override config '{field.name}'.",
                  flag_values=flag_values)


def from_flags(config_class, path, flag_values=flags.FLAGS):
  """`config_class` loaded from `path` ("" = defaults) with set flags applied."""
  config = config_class.load(path) if path else config_class()
  overrides = {f.name: flag_values[f.name].value
               for f in dataclasses.fields(config_class)
               if flag_values[f.name].value is not None}
  return config.replace(**overrides)
