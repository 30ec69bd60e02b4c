"""Responses as plain dicts: what the generated facades return.

The shape (keys, value types) is the contract of the TypedDicts generated in
``textservice.<version>.types``: every field is present under its snake-case name, nested
messages are dicts, repeated fields are lists, enum values stay enum members, and a message or
``optional`` field that is not set is ``None``. betterproto2's own ``to_dict`` in Python output
mode does exactly this, so it is used rather than rewritten.
"""

from __future__ import annotations

from typing import Any

import betterproto2

__all__ = ["to_dict"]


def to_dict(message: betterproto2.Message) -> dict[str, Any]:
    """``message`` as nested dicts (see the module docstring for the shape)."""
    if not isinstance(message, betterproto2.Message):
        raise TypeError(f"expected a betterproto2 message, got {type(message).__name__}")
    return message.to_dict(
        output_format=betterproto2.OutputFormat.PYTHON,
        casing=betterproto2.Casing.SNAKE,
        include_default_values=True,
    )
