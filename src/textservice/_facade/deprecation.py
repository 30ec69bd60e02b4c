"""Warnings for what the protos mark ``deprecated``: an RPC, or a request field."""

from __future__ import annotations

import sys
import warnings

__all__ = ["deprecated"]

_PACKAGE = "textservice"


def _outside_level() -> int:
    """The ``stacklevel`` of the first frame outside ``textservice`` (the user's call), as
    seen from ``deprecated``'s caller."""
    frame = sys._getframe(2)  # deprecated's caller
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 2


def deprecated(message: str) -> None:
    """Warn with ``DeprecationWarning`` about ``message``, pointing at the user's line (the
    first frame outside ``textservice``, whether the call was sync or awaited)."""
    warnings.warn(message, DeprecationWarning, stacklevel=_outside_level())
