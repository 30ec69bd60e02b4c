"""Module attributes imported on first use (PEP 562), so importing a package that exports
them (a generated facade, a betterproto2 package index, ``textservice.client``) costs only
their table until a name is used."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    namespace: dict[str, Any], modules: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` (``namespace``: its ``globals()``): a name of
    ``modules`` is imported from its module (absolute, or ``.name`` within the package) when
    first asked for, and kept in ``namespace``; ``__dir__`` adds ``__all__`` to what is
    there."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> object:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__
