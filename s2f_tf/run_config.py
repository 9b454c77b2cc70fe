"""Typed, nested config dataclasses of s2f's binaries: JSON round trip and absl flags.

A config is a dataclass whose fields are values or sections (dataclasses
themselves: data / model / optimizer / loop / runtime). Every leaf name is
unique across sections, so each leaf is one flag of the same name whose
default is None (= keep the config file's value): a binary is flags ->
config -> library call. Config files hold only what differs from the
defaults (`diff`), nested by section; `load` fills in the rest.
"""

import dataclasses
import functools
import inspect
import json
import re

from absl import flags


def _is_section(value):
  return dataclasses.is_dataclass(value) and not isinstance(value, type)


class RunConfig:
  """Mixin for @dataclass configs (and their sections)."""

  def to_dict(self):
    return dataclasses.asdict(self)

  def to_json(self):
    """Every value, nested: the record a workdir keeps."""
    return json.dumps(self.to_dict(), indent=2, sort_keys=True)

  def diff(self):
    """Nested dict of only the values that differ from the defaults."""
    return _diff(self, type(self)())

  @classmethod
  @functools.cache  # read on every flat attribute access
  def leaves(cls):
    """{leaf name: (section names..., leaf name)} of every value field."""
    out = {}
    for field in dataclasses.fields(cls):
      default = _default(field)
      paths = ({name: (field.name,) + path for name, path in
                type(default).leaves().items()} if _is_section(default)
               else {field.name: (field.name,)})
      twice = set(paths) & set(out)
      if twice:  # flat flags need unique leaf names
        raise TypeError(f"{cls.__name__}: leaf names {sorted(twice)} appear "
                        "in two sections")
      out.update(paths)
    return out

  @classmethod
  def from_dict(cls, values):
    """The defaults with `values` (nested, possibly partial) applied."""
    return cls().merged(values)

  def merged(self, values):
    """A copy with nested, possibly partial `values` applied."""
    known = {f.name: f for f in dataclasses.fields(self)}
    leaves = {name: path for name, path in self.leaves().items()
              if len(path) > 1}
    flat = {k: values[k] for k in values if k not in known and k in leaves}
    if flat:  # leaves by their flat names (flags; flat config files)
      values = {k: v for k, v in values.items() if k not in flat}
      return self.merged(values).replace(**flat)
    unknown = set(values) - set(known)
    if unknown:
      raise ValueError(f"unknown {type(self).__name__} keys: "
                       f"{sorted(unknown)}")
    changes = {}
    for name, value in values.items():
      current = getattr(self, name)
      if _is_section(current):
        if _is_section(value):
          value = value.to_dict()
        if not isinstance(value, dict):
          raise ValueError(f"{type(self).__name__}.{name} is a section: "
                           f"give a dict, not {value!r}")
        value = current.merged(value)
      changes[name] = value
    return dataclasses.replace(self, **changes)

  @classmethod
  def from_json(cls, text):
    return cls.from_dict(json.loads(text))

  @classmethod
  def load(cls, path):
    with open(path, encoding="utf-8") as f:
      return cls.from_json(f.read())

  def replace(self, **overrides):
    """A copy with leaf fields (by their flat names) or sections replaced."""
    nested = {}
    leaves = self.leaves()
    for name, value in overrides.items():
      if name in {f.name for f in dataclasses.fields(self)}:
        path = (name,)
      elif name in leaves:
        path = leaves[name]
      else:
        raise ValueError(f"unknown {type(self).__name__} field {name!r}")
      node = nested
      for key in path[:-1]:
        node = node.setdefault(key, {})
      node[path[-1]] = value
    return self.merged(nested)

  @classmethod
  def create(cls, **overrides):
    """The defaults with leaf fields set by their flat names."""
    return cls().replace(**overrides)

  def __getattr__(self, name):
    # Flat read access to leaves (config.batch_size), like the flags.
    if name.startswith("_"):
      raise AttributeError(name)
    path = type(self).leaves().get(name)
    if path is None or len(path) == 1:
      raise AttributeError(f"{type(self).__name__} has no field {name!r}")
    value = self
    for key in path:
      value = getattr(value, key)
    return value


def _default(field):
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return field.default


def _diff(config, default):
  out = {}
  for field in dataclasses.fields(config):
    value, base = getattr(config, field.name), getattr(default, field.name)
    if _is_section(value):
      nested = _diff(value, base)
      if nested:
        out[field.name] = nested
    elif value != base:
      out[field.name] = value
  return out


_DEFINE = {"bool": flags.DEFINE_boolean, "int": flags.DEFINE_integer,
           "float": flags.DEFINE_float, "str": flags.DEFINE_string}


_FIELD_LINE = re.compile(r"^\s+(\w+): \w+ = [^#]*(?:#\s*(.*))?$")
_COMMENT_LINE = re.compile(r"^\s+#\s*(.*)$")


def field_comments(config_class):
  """{leaf: the comment beside it or on the lines just above it}, sections
  included."""
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
  for field in dataclasses.fields(config_class):
    default = _default(field)
    if _is_section(default):
      comments.update(field_comments(type(default)))
  return comments


def _leaf_fields(config_class):
  """[(dataclasses.Field, default value in this config)] of every leaf."""
  out = []
  defaults = config_class()
  for name, path in config_class.leaves().items():
    section = defaults
    for key in path[:-1]:
      section = getattr(section, key)
    field = next(f for f in dataclasses.fields(section) if f.name == name)
    out.append((field, getattr(section, name)))
  return out


def define_flags(config_class, flag_values=flags.FLAGS):
  """Defines one override flag per leaf of `config_class`.

  Its help is the field's comment in the dataclass and its default there
  (the flag itself defaults to None: keep the --config file's value).
  """
  comments = field_comments(config_class)
  for field, default in _leaf_fields(config_class):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    text = comments.get(field.name) or field.name.replace("_", " ")
    _DEFINE[kind](field.name, None,
                  f"{text} (default: the --config file's value, else "
                  f"{default!r})", flag_values=flag_values)


def from_flags(config_class, path, flag_values=flags.FLAGS):
  """`config_class` loaded from `path` ("" = defaults) with set flags applied."""
  config = config_class.load(path) if path else config_class()
  overrides = {name: flag_values[name].value
               for name in config_class.leaves()
               if flag_values[name].value is not None}
  return config.replace(**overrides)
