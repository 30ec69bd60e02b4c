"""Python names: betterproto2's for generated classes and fields, ours for facade parameters."""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterable

import betterproto2
from betterproto2_compiler.compile.naming import pythonize_class_name, pythonize_field_name


def python_class_name(prefixed_proto_name: str) -> str:
    """The class name betterproto2 gives a type (``ContentFilter.BlockedReason`` ->
    ``ContentFilterBlockedReason``); we ask its compiler so the two can never disagree."""
    return pythonize_class_name(prefixed_proto_name)


def python_field_name(proto_name: str) -> str:
    """The attribute name betterproto2 gives a field (keywords get a trailing ``_``)."""
    return pythonize_field_name(proto_name)


def snake_name(name: str) -> str:
    """``GetModel`` -> ``get_model``: a plain function's (and a service module's) name, by
    betterproto2's own rule for method names."""
    return python_field_name(betterproto2.Casing.SNAKE(name))


PYTHON_RESERVED: frozenset[str] = frozenset(
    [*keyword.kwlist, *keyword.softkwlist, *(n for n in dir(builtins) if not n.startswith("_"))]
)
"""Keywords and builtins: a parameter with one of these names gets a trailing ``_``."""


def parameter_name(field_name: str, taken: Iterable[str] = ()) -> str:
    """A facade parameter name for a request field, like gapic-generator-python's.

    Keywords, builtins and names in ``taken`` (the facade's own parameters and the module-level
    names its functions use) get a trailing underscore, repeated until the name is free.
    """
    taken = frozenset(taken)
    name = python_field_name(field_name)
    while name in PYTHON_RESERVED or name in taken:
        name += "_"
    return name


def is_identifier(name: str) -> bool:
    """Usable as an attribute or class-syntax TypedDict key."""
    return name.isidentifier() and not keyword.iskeyword(name)
