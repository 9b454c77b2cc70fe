"""pytest setup for tf.test.TestCase suites: parse absl flags, quiet TF logs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # pylint: disable=g-import-not-at-top

if not flags.FLAGS.is_parsed():
  flags.FLAGS.mark_as_parsed()


def pytest_collection_modifyitems(items):
  """Drops tf.test.TestCase.test_session, a context manager, not a test.

  pytest would report it as one skip per class, hiding real skips.
  """
  items[:] = [item for item in items if item.name != "test_session"]
