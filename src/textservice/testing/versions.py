"""The API versions and services the fake serves, found in the generated code.

Every package under ``textservice._proto.google.ai.generativelanguage`` is a version; each
``<Name>ServiceBase`` it exports (``TextService``, ``GenerativeService``, ``ModelService``,
...) is a service of it, with its routes (and so which RPCs it has: v1beta2's TextService has
no BatchEmbedText) read from that base's own ``__mapping__``. Nothing here names a version, a
service or an RPC: copying a new version's protos in and running ``make generate`` is enough.

Discovery imports the generated service modules, so it runs on first use, not on import.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import grpclib.const

from textservice._proto.google.ai import generativelanguage

_BASE_SUFFIX = "ServiceBase"


@dataclass(frozen=True)
class Service:
    """One generated service of one API version."""

    version: str
    """e.g. ``"v1beta"``."""
    name: str
    """e.g. ``"GenerativeService"``."""
    package: str
    """The proto package, e.g. ``"google.ai.generativelanguage.v1beta"``."""
    handlers: tuple[tuple[str, grpclib.const.Handler], ...]
    """``(route, handler)`` of the generated base, one per RPC, sorted by route."""

    @property
    def full_name(self) -> str:
        """``google.ai.generativelanguage.<version>.<name>``."""
        return f"{self.package}.{self.name}"

    @property
    def methods(self) -> tuple[str, ...]:
        """The RPC names of this service."""
        return tuple(route.rsplit("/", 1)[1] for route, _ in self.handlers)

    def generation_method(self, method: str) -> str:
        """The name a model's ``supported_generation_methods`` uses for ``method``.

        The RPC name in lowerCamelCase (``EmbedContent`` -> ``embedContent``), except that a
        batch RPC (``Batch`` + a name) counts as the single RPC it batches when the service
        has that one: ``BatchEmbedContents`` -> ``embedContent``, ``BatchEmbedText`` ->
        ``embedText``, as the API's model catalogue lists only the single methods.
        """
        name = method
        if method.startswith("Batch"):
            single = method.removeprefix("Batch")
            for candidate in (single, single.removesuffix("s")):
                if candidate in self.methods:
                    name = candidate
                    break
        return name[:1].lower() + name[1:]


@dataclass(frozen=True)
class ApiVersion:
    """One API version as generated: its module and its services."""

    name: str
    """e.g. ``"v1beta"``."""
    module: ModuleType
    """The generated package holding its messages, stubs and service bases."""
    services: tuple[Service, ...]
    """Its services, sorted by name."""

    @property
    def handlers(self) -> tuple[tuple[str, grpclib.const.Handler], ...]:
        """``(route, handler)`` of every RPC of every service, sorted by route."""
        return tuple(sorted(pair for service in self.services for pair in service.handlers))

    @property
    def methods(self) -> tuple[str, ...]:
        """The RPC names of every service of this version."""
        return tuple(method for service in self.services for method in service.methods)

    def service(self, name: str) -> Service | None:
        """The service called ``name`` (``"TextService"``), or ``None``."""
        for service in self.services:
            if service.name == name:
                return service
        return None

    def message(self, name: str) -> Any:
        """The generated message class ``name`` of this version."""
        return getattr(self.module, name)

    def has(self, name: str) -> bool:
        """Whether this version's protos define the message or enum ``name``."""
        return name in getattr(self.module, "__all__", ())

    def build(self, name: str, /, **values: Any) -> Any:
        """The message ``name`` of this version with ``values`` (see ``build_message``)."""
        return build_message(self.message(name), values)


class Later:
    """A value ``build_message`` makes only when the message has its field: for values whose
    types a version may lack (v1beta's ``ModalityTokenCount`` and
    ``CountTokensResponse.prompt_tokens_details`` came with googleapis c76b740723, 2025-04-28;
    v1alpha has neither at f8291d2b, 2026-08)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def build_message(message_type: Any, values: Mapping[str, Any]) -> Any:
    """``message_type(**values)`` with only the fields it has: a field this version of the
    message lacks (an older or newer proto) is left out, never an error. A ``Later`` value is
    made only when its field is there."""
    known = {f.name for f in dataclasses.fields(message_type)}
    return message_type(
        **{
            key: value.make() if isinstance(value, Later) else value
            for key, value in values.items()
            if key in known
        }
    )


def _services(version: str, module: ModuleType) -> tuple[Service, ...]:
    package = module.__name__.split("_proto.", 1)[1]
    found = []
    for attribute in sorted(getattr(module, "__all__", ())):
        if not attribute.endswith(_BASE_SUFFIX):
            continue
        base = getattr(module, attribute)
        handlers = tuple(sorted(base().__mapping__().items()))
        name = attribute.removesuffix("Base")
        found.append(Service(version, name, package, handlers))
    return tuple(found)


@cache
def api_versions() -> tuple[ApiVersion, ...]:
    """Every generated version with at least one service, sorted by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(generativelanguage.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{generativelanguage.__name__}.{info.name}")
        services = _services(info.name, module)
        if services:
            found.append(ApiVersion(info.name, module, services))
    return tuple(found)


def version_named(name: str) -> ApiVersion:
    """The version called ``name``; ``ValueError`` listing the known ones otherwise."""
    for version in api_versions():
        if version.name == name:
            return version
    known = ", ".join(v.name for v in api_versions())
    raise ValueError(f"unknown API version {name!r}; known: {known}")
