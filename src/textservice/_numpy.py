"""The optional numpy import: ``output="numpy"`` needs it, ``import textservice`` never loads it.

numpy is an extra (``pip install numpy``, or ``textservice[numpy]``). Code that makes arrays
imports it where it needs it; code that must say "numpy is missing" first calls
``require_numpy``, which names the way to install it.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy
    import numpy.typing

    Float32Array: TypeAlias = numpy.typing.NDArray[numpy.float32]
    """A float32 array: one embedding ``(dim,)`` or rows of them ``(n, dim)``."""

__all__ = ["NUMPY_EXTRA", "Float32Array", "NumpyMissingError", "require_numpy"]

NUMPY_EXTRA = "pip install numpy"
"""How to get numpy for ``output="numpy"``."""


class NumpyMissingError(ImportError):
    """numpy was needed and is not installed; the message names what needed it and how to
    install it (the ``textservice`` command shows it as it is: exit 2)."""


def require_numpy(needed_for: str = "output='numpy'", instead: str | None = None) -> ModuleType:
    """The numpy module, or ``NumpyMissingError``: "``needed_for`` needs numpy: pip install
    numpy", and ``(or instead)`` when there is another way."""
    try:
        import numpy
    except ImportError as exc:
        other = f" (or {instead})" if instead else ""
        raise NumpyMissingError(f"{needed_for} needs numpy: {NUMPY_EXTRA}{other}") from exc
    return numpy
