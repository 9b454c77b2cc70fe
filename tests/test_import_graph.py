"""The repository's import graph: no circle, and the library never imports a binary or an experiment.

Every module under the five top-level folders is parsed (never imported);
each `import` / `from ... import`, at module level or inside a function,
is an edge. Layers run one way: `experiments/` and `data_prep/` may import
`s2f_tf/` and `tfrecords_schema/`; `s2f_tf/` imports neither of them.
"""

import ast
import os

from absl.testing import absltest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ("s2f_tf", "data_prep", "experiments", "tfrecords_schema", "tests")
LIBRARY = "s2f_tf"
NOT_FROM_LIBRARY = ("data_prep", "experiments", "tests")


def modules(root=REPO, folders=FOLDERS):
  """{dotted module name: file path} of every .py file under `folders`."""
  out = {}
  for folder in folders:
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
      dirnames[:] = sorted(d for d in dirnames
                           if not d.startswith(".") and d != "__pycache__")
      for name in sorted(filenames):
        if not name.endswith(".py"):
          continue
        path = os.path.join(dirpath, name)
        parts = os.path.relpath(path, root)[:-3].split(os.sep)
        if parts[-1] == "__init__":
          parts = parts[:-1]
        out[".".join(parts)] = path
  return out


def edges(known):
  """{module: sorted modules of `known` it imports}."""
  graph = {}
  for module, path in known.items():
    with open(path) as f:
      tree = ast.parse(f.read(), path)
    targets = set()
    for node in ast.walk(tree):
      names = []
      if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        names = [f"{node.module}.{a.name}" for a in node.names]
        names.append(node.module)
      for name in names:
        # The longest known prefix: `from a import b` is a.b when b is a
        # module, else a.
        while name and name not in known:
          name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
          targets.add(name)
    # A package's __init__ is imported by its own modules; it is not a
    # dependency worth a circle.
    graph[module] = sorted(t for t in targets if t in known)
  return graph


def cycles(graph):
  """Strongly connected components of more than one module (Tarjan)."""
  index, low, stack, on_stack, out = {}, {}, [], set(), []
  counter = [0]

  def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w in graph.get(v, ()):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        out.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return out


def top_level_imports(path):
  """Top-level package names a file imports (any depth of its code)."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      out.update(a.name.split(".")[0] for a in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      out.add(node.module.split(".")[0])
  return out


# Keras models and losses run under any Keras 3 backend: neither they nor
# anything they import from the repository imports TensorFlow (the GPU
# machines have JAX and PyTorch, no TensorFlow).
BACKEND_AGNOSTIC = ("s2f_tf.models", "s2f_tf.losses")


class ImportGraphTest(absltest.TestCase):

  def test_models_and_losses_import_no_tensorflow(self):
    known = modules()
    graph = edges(known)
    roots = [m for m in known if m.startswith(BACKEND_AGNOSTIC)]
    self.assertGreater(len(roots), 10)
    for root in roots:
      seen, todo = set(), [root]
      while todo:
        module = todo.pop()
        if module in seen:
          continue
        seen.add(module)
        todo += graph[module]
      for module in sorted(seen):
        self.assertNotIn("tensorflow", top_level_imports(known[module]),
                         f"{root} imports TensorFlow through {module}")

  def test_the_tensorflow_check_finds_a_planted_import(self):
    root = self.create_tempdir().full_path
    os.makedirs(os.path.join(root, "s2f_tf", "models"))
    for name, text in (("a.py", "from s2f_tf.models import b\n"),
                       ("b.py", "def f():\n  import tensorflow as tf\n")):
      with open(os.path.join(root, "s2f_tf", "models", name), "w") as f:
        f.write(text)
    known = modules(root, ("s2f_tf",))
    self.assertEqual(edges(known)["s2f_tf.models.a"], ["s2f_tf.models.b"])
    self.assertIn("tensorflow", top_level_imports(known["s2f_tf.models.b"]))
    self.assertNotIn("tensorflow",
                     top_level_imports(known["s2f_tf.models.a"]))

  def test_the_checker_finds_a_planted_circle(self):
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    self.assertEqual(cycles(graph), [["a", "b", "c"]])
    self.assertEqual(cycles({"a": ["b"], "b": []}), [])

  def test_no_circle(self):
    graph = edges(modules())
    self.assertGreater(len(graph), 100)
    self.assertEqual(cycles(graph), [])

  def test_the_library_imports_no_binary_or_experiment(self):
    graph = edges(modules())
    wrong = [(m, t) for m, targets in graph.items()
             if m.split(".")[0] == LIBRARY for t in targets
             if t.split(".")[0] in NOT_FROM_LIBRARY]
    self.assertEqual(wrong, [])


if __name__ == "__main__":
  absltest.main()
