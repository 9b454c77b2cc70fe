"""Config dataclasses of s2f's binaries: JSON round trip and absl flags.

Every field of a config becomes a flag of the same name whose default is
None (= keep the config file's value), so a binary is: flags -> config ->
library call.
"""

import dataclasses
import inspect
import json
import re

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


_FIELD_LINE = re.compile(r"^\s+(\w+): \w+ = [^#]*(?:#\s*(.*))?$")
_COMMENT_LINE = re.compile(r"^\s+#\s*(.*)$")


def field_comments(config_class):
  """{field: the comment beside it or on the lines just above it}."""
  comments, above = {}, []
  for line in inspect.getsource(config_class).splitlines():
    comment = _COMMENT_LINE.match(line)
    if comment:
      above.append(comment.group(1))
      continue
    field = _FIELD_LINE.match(line)
    if field:
      comments[field.group(1)] = " ".join(
          above + ([field.group(2)] if field.group(2) else []))
    above = []
  return comments


def define_flags(config_class, flag_values=flags.FLAGS):
  """Defines one override flag per field of `config_class`.

  Its help is the field's comment in the dataclass and its default there
  (the flag itself defaults to None: keep the --config file's value).
  """
  comments = field_comments(config_class)
  for field in dataclasses.fields(config_class):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    text = comments.get(field.name) or field.name.replace("_", " ")
    _DEFINE[kind](field.name, None,
                  f"{text} (default: the --config file's value, else "
                  f"{field.default!r})", flag_values=flag_values)


def from_flags(config_class, path, flag_values=flags.FLAGS):
  """`config_class` loaded from `path` ("" = defaults) with set flags applied."""
  config = config_class.load(path) if path else config_class()
  overrides = {f.name: flag_values[f.name].value
               for f in dataclasses.fields(config_class)
               if flag_values[f.name].value is not None}
  return config.replace(**overrides)
