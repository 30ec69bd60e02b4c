"""Warnings for what the protos mark ``deprecated``: an RPC, a request field, a field of a
message passed as an argument (at any depth), or an enum value.

Each warning is a ``DeprecationWarning`` pointing at the user's line (the first frame outside
``textservice``, whether the call was sync or awaited) and naming the function the user called
(the outermost generated facade function on the stack: ``iter_embed_content`` and
``embed_content`` share their request builder, yet each warns under its own name).

betterproto2 warns too when a message with a deprecated field is built, but from inside
``textservice._proto``, which Python's default filters hide; and it has no warning for enum
values. So a generated facade declares ``Deprecations``, the deprecated fields and enum
values its arguments can reach (from the protos, by ``make generate``), and checks each
argument it converts against them.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from textservice._encoding.metadata import message_metadata

# betterproto2 is imported where a message is read, not when a facade is imported (issue 21)
if TYPE_CHECKING:
    import betterproto2

__all__ = ["Deprecations", "deprecated"]

_PACKAGE = "textservice"

T = TypeVar("T")


def _inside(frame: FrameType) -> bool:
    module = frame.f_globals.get("__name__", "")
    return bool(module == _PACKAGE or module.startswith(_PACKAGE + "."))


def _facade_function(frame: FrameType) -> str | None:
    """``textservice.v1beta.embed_content`` for a frame of a public facade function (in a
    generated module ``textservice.<version>._<service>``), else ``None``."""
    module = frame.f_globals.get("__name__", "")
    package, _, leaf = module.rpartition(".")
    top, _, facade = package.partition(".")
    name = frame.f_code.co_name
    if top != _PACKAGE or not facade or "." in facade or facade.startswith("_"):
        return None
    if not leaf.startswith("_") or name.startswith("_"):
        return None
    return f"{package}.{name}"


def _caller() -> tuple[int, str]:
    """The ``stacklevel`` of the first frame outside ``textservice`` (the user's call), as
    seen from ``deprecated``'s caller, and the facade function the user called."""
    frame: FrameType | None = sys._getframe(2)  # deprecated's caller
    level = 2
    function = ""
    while frame is not None:
        if not _inside(frame):
            return level, function or _PACKAGE
        function = _facade_function(frame) or function
        frame = frame.f_back
        level += 1
    return 2, function or _PACKAGE


def deprecated(detail: str, argument: str | None = None) -> None:
    """Warn with ``DeprecationWarning``: ``"<function>(<argument>=...): <detail>"``, where
    ``function`` is the facade function the user called, pointing at the user's line."""
    level, function = _caller()
    where = f"{function}({argument}=...)" if argument else function
    warnings.warn(f"{where}: {detail}", DeprecationWarning, stacklevel=level)


@dataclass(frozen=True)
class Deprecations:
    """The deprecated fields and enum values a facade module's arguments can reach."""

    package: str
    """The proto package, for the warnings (``google.ai.generativelanguage.v1beta``)."""
    fields: Mapping[type[betterproto2.Message], tuple[str, ...]] = field(default_factory=dict)
    """Message class -> its deprecated fields (betterproto2 attribute names)."""
    values: Mapping[type[betterproto2.Enum], Mapping[int, str]] = field(default_factory=dict)
    """Enum class -> its deprecated values: number -> proto name (betterproto2 renames the
    members: ``HARM_CATEGORY_CIVIC_INTEGRITY`` is ``HarmCategory.CIVIC_INTEGRITY``)."""

    def checked(self, value: T, argument: str) -> T:
        """``value`` (an argument already converted), after warning about every deprecated
        field set and deprecated enum value in it, at any depth."""
        for path, detail in self._found(value, argument):
            deprecated(f"{path}: {detail}", argument)
        return value

    def _found(self, value: Any, path: str) -> list[tuple[str, str]]:
        import betterproto2

        if isinstance(value, betterproto2.Enum):
            name = self.values.get(type(value), {}).get(int(value))
            if name is not None:
                return [
                    (path, f"the {type(value).__name__} {name} is deprecated in {self.package}")
                ]
            return []
        if isinstance(value, list | tuple):
            return [f for i, item in enumerate(value) for f in self._found(item, f"{path}[{i}]")]
        if isinstance(value, dict):
            return [f for k, item in value.items() for f in self._found(item, f"{path}[{k!r}]")]
        if not isinstance(value, betterproto2.Message):
            return []
        found = []
        old = self.fields.get(type(value), ())
        for name in message_metadata(type(value)).meta_by_field_name:
            item = getattr(value, name)
            if name in old and value.is_set(name):
                detail = f"the field {type(value).__name__}.{name} is deprecated in {self.package}"
                found.append((f"{path}.{name}", detail))
            found += self._found(item, f"{path}.{name}")
        return found
