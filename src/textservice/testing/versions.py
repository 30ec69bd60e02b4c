"""The API versions whose TextService the fake serves, found in the generated code.

Every package under ``textservice._proto.google.ai.generativelanguage`` that has a
``TextServiceBase`` is a version; its routes (and so which RPCs it has: v1beta2 has no
BatchEmbedText or CountTextTokens) come from that base's own ``__mapping__``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import grpclib.const

from textservice._proto.google.ai import generativelanguage

METHODS = ("GenerateText", "EmbedText", "BatchEmbedText", "CountTextTokens")
"""Every TextService RPC some version has."""


@dataclass(frozen=True)
class ApiVersion:
    """One API version's TextService as generated."""

    name: str
    """e.g. ``"v1beta"``."""
    module: ModuleType
    """The generated module holding its messages, stub and ``TextServiceBase``."""
    handlers: tuple[tuple[str, grpclib.const.Handler], ...]
    """``(route, handler)`` of the generated base, one per RPC."""

    @property
    def service(self) -> str:
        """The full service name, ``google.ai.generativelanguage.<version>.TextService``."""
        return f"{self.module.__name__.split('_proto.', 1)[1]}.TextService"

    @property
    def methods(self) -> tuple[str, ...]:
        """The RPC names this version has."""
        return tuple(route.rsplit("/", 1)[1] for route, _ in self.handlers)

    def message(self, name: str) -> Any:
        """The generated message class ``name`` of this version."""
        return getattr(self.module, name)


@cache
def api_versions() -> tuple[ApiVersion, ...]:
    """Every generated version with a TextService, sorted by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(generativelanguage.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{generativelanguage.__name__}.{info.name}")
        base = getattr(module, "TextServiceBase", None)
        if base is None:
            continue
        handlers = tuple(sorted(base().__mapping__().items()))
        found.append(ApiVersion(info.name, module, handlers))
    return tuple(found)


def version_named(name: str) -> ApiVersion:
    """The version called ``name``; ``ValueError`` listing the known ones otherwise."""
    for version in api_versions():
        if version.name == name:
            return version
    known = ", ".join(v.name for v in api_versions())
    raise ValueError(f"unknown API version {name!r}; known: {known}")
