"""textservice: a typed, fast client for the Generative Language API.

The functions here are v1beta's (``embed_content``, ``count_tokens``, ``list_models``,
``get_model``, the legacy TextService's ``generate_embeddings``...), each service's module
imported on first use. Every generated API version is an attribute too (``textservice.v1``,
``textservice.v1beta3``, …), imported on first use.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, cast

from textservice import client as _client
from textservice import errors
from textservice import v1beta as _v1beta
from textservice.client import Client, TextServiceClient, configure
from textservice.errors import *  # noqa: F403 (the error types: errors.__all__, added to ours)
from textservice.retry import Retry

# The functions of v1beta, the API version the old google.generativeai library used, are
# re-exported as they are first used (``__getattr__``); type checkers see them here.
if TYPE_CHECKING:
    from textservice.client import QuotaKey, QuotaKeyStats, QuotaStats
    from textservice.v1beta import *  # noqa: F403

_QUOTA_NAMES = ("QuotaKey", "QuotaKeyStats", "QuotaStats")
"""The rate governor's result types, imported (with it) on first use."""

__version__ = "0.1.0"

__all__ = [
    "Client",
    "QuotaKey",
    "QuotaKeyStats",
    "QuotaStats",
    "Retry",
    "TextServiceClient",
    "configure",
]
__all__ += errors.__all__
__all__ += _v1beta.__all__


def _versions() -> list[str]:
    """The generated API versions: the subpackages named like ``v1``, ``v1beta``,
    ``v1beta3`` (``make generate`` writes one per version in ``protos/``)."""
    import pkgutil
    import re

    pattern = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
    found = pkgutil.iter_modules(__path__)  # noqa: F405 (the package's own __path__)
    return sorted(m.name for m in found if m.ispkg and pattern.fullmatch(m.name))


def __getattr__(name: str) -> ModuleType:
    """``textservice.<version>`` (each generated API version's facade), v1beta's functions
    and result types, and the quota stats types, imported on first use (``import
    textservice`` loads none of them).

    Typed for the versions: type checkers know v1beta's names from the star import above.
    """
    if name in _v1beta.__all__ or name in _QUOTA_NAMES:
        source = _v1beta if name in _v1beta.__all__ else _client
        value = getattr(source, name)
        globals()[name] = value
        return cast("ModuleType", value)
    if name in _versions():
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_versions()})
