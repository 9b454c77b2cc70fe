"""The face teachers: which network makes the face feature the voice encoder learns.

The paper's teacher is VGG-Face's 4096-D fc7 (Sec. 3), with fc8 as the
identity classifier of Eq. 1's distillation term. Its weights cannot be had
everywhere, so s2f also offers dlib's ResNet face descriptor (128-D, from
`face-recognition-models`), a real face-recognition feature that works
offline; it has no identity classifier, so Eq. 1's lambda3 term is 0 with it
(WORKSPACE.md, "Face teacher").

Every shard set, decoder data set, decoder and encoder records its teacher's
name and dimension; readers check them with `check_same`, so a feature of
one teacher never meets a model of another.
"""

import collections

# Every teacher reads 224 x 224 face crops: VGG-Face's input (Sec. 3); the
# shard job stores crops of this size.
FACE_SIZE = 224


class Teacher(collections.namedtuple(
    "Teacher", "name dim has_identity_classifier description")):
  """One face teacher: its name, feature size and whether fc8 exists."""


VGG_FACE_FC7 = "vgg_face_fc7"
DLIB128 = "dlib128"
TEACHERS = {
    VGG_FACE_FC7: Teacher(VGG_FACE_FC7, 4096, True,
                          "VGG-Face fc7 (the paper's teacher, Sec. 3)"),
    DLIB128: Teacher(DLIB128, 128, False,
                     "dlib's 128-D ResNet face descriptor (offline "
                     "stand-in for VGG-Face; no fc8, so lambda3 = 0)"),
}
DEFAULT = VGG_FACE_FC7  # The paper's.
FC7_DIM = TEACHERS[VGG_FACE_FC7].dim  # Table 1's output, the decoder's input.


class TeacherMismatchError(ValueError):
  """Two parts of a run were made with different face teachers."""


def get(name):
  """The Teacher called `name`; ValueError listing the choices otherwise."""
  if name not in TEACHERS:
    raise ValueError(f"--teacher={name!r}: choose one of "
                     f"{', '.join(TEACHERS)}")
  return TEACHERS[name]


def check_same(expected, found, what):
  """Raises TeacherMismatchError when `found` (a name, or a dimension) is not
  `expected`'s (a name); `what` names the thing that was made with `found`."""
  teacher = get(expected)
  if isinstance(found, int):
    if found == teacher.dim:
      return
    others = [t.name for t in TEACHERS.values() if t.dim == found]
    found_text = f"{others[0]} ({found}-D)" if others else f"{found}-D"
  else:
    if found == teacher.name:
      return
    found_text = found
  raise TeacherMismatchError(
      f"{what} was made with the face teacher {found_text}, not "
      f"{teacher.name} ({teacher.dim}-D): remake it with --teacher="
      f"{teacher.name} or pass --teacher matching it")
