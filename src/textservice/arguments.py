"""Checks of user input, done before any network call, with errors naming the argument.

Texts: a ``str`` is one text; a ``list``/``tuple`` (or any other ordered iterable such as a
generator, consumed once) of ``str`` is many. Rejected with ``TypeError``: ``None``, ``bytes``
and other binary buffers, numbers, mappings, sets (no order), nested sequences and any item
that is not a ``str``; with ``ValueError``: a text holding a lone surrogate (it cannot be
encoded as UTF-8, so it could never be sent).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from types import EllipsisType
from typing import Literal, Protocol

from textservice._arrays import require_numpy
from textservice._fields import encodable
from textservice.retry import Retry

__all__ = [
    "MODEL_PREFIXES",
    "OUTPUTS",
    "HasName",
    "Output",
    "RequestOptions",
    "check_max_concurrency",
    "check_metadata",
    "check_model",
    "check_output",
    "check_progress",
    "check_request_options",
    "check_retry",
    "check_text",
    "check_texts",
    "check_timeout",
]

MODEL_PREFIXES = ("models/", "tunedModels/")

_MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+\Z")
"""A model's resource name: a prefix of ``MODEL_PREFIXES``, then a non-empty id holding no
``/`` and no whitespace."""

_REQUEST_OPTION_KEYS = frozenset({"timeout", "retry"})


class HasName(Protocol):
    """Anything with a ``.name`` (a ``Model`` object)."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class RequestOptions:
    """Validated ``request_options``; ``...`` (Ellipsis) means "not given, use the default"."""

    timeout: float | EllipsisType | None = ...
    """Seconds for the whole call, retries and every batch included; ``None``: no deadline."""
    retry: Retry | EllipsisType | None = ...
    """Retry policy for every RPC of the call; ``None`` disables retries."""


def check_model(model: object) -> str:
    """The model's resource name: ``models/{id}`` or ``tunedModels/{id}``, else ``ValueError``.

    The id is one or more characters with no ``/`` or whitespace (``models/a/b`` and
    ``'models/ '`` are refused).

    ``model`` is a ``str`` or an object with a ``str`` ``.name`` (a ``Model``), else
    ``TypeError``.
    """
    if isinstance(model, str):
        name = model
    elif model is not None and isinstance(getattr(model, "name", None), str):
        name = model.name  # type: ignore[attr-defined]
    else:
        raise TypeError(
            "model must be a str such as 'models/embedding-gecko-001' or an object with a "
            f"str .name (a Model), got {type(model).__name__}"
        )
    if _MODEL_NAME.match(name) is None:
        raise ValueError(
            "model name must start with 'models/' or 'tunedModels/' followed by an id "
            f"(one or more characters, no '/' or whitespace), got {name!r}"
        )
    return encodable(name, "model")


def check_text(text: object, name: str = "text") -> str | list[str]:
    """One text (``str``) or a new list of texts; ``TypeError`` for anything else.

    Sequences and other ordered iterables (generators included) of ``str`` are accepted and
    copied into a list; see the module docstring for what is rejected. A text that cannot be
    encoded as UTF-8 raises ``ValueError`` naming its index.
    """
    if isinstance(text, str):
        return encodable(text, name)
    if text is None or isinstance(text, bytes | bytearray | memoryview):
        raise TypeError(
            f"{name} must be a str or a sequence of str, got {type(text).__name__}"
            + (" (decode bytes to str first)" if text is not None else "")
        )
    if isinstance(text, Mapping | Set) or not isinstance(text, Iterable):
        reason = " (a set or mapping has no order)" if isinstance(text, Mapping | Set) else ""
        raise TypeError(
            f"{name} must be a str or a sequence of str, got {type(text).__name__}{reason}"
        )
    texts = list(text)
    for i, item in enumerate(texts):
        if not isinstance(item, str):
            nested = " (nested sequences are not accepted)" if isinstance(item, Iterable) else ""
            raise TypeError(f"{name}[{i}] must be a str, got {type(item).__name__}{nested}")
        if not item.isascii():  # the common case needs no encoding to check
            encodable(item, f"{name}[{i}]")
    return texts


def check_texts(texts: object) -> list[str]:
    """A new list of texts, as ``check_text`` accepts them, but never one ``str``."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not a single str (use [text])")
    checked = check_text(texts, "texts")
    assert isinstance(checked, list)
    return checked


Output = Literal["list", "numpy"]
"""How embeddings are returned: lists of Python floats, or float32 numpy arrays."""

OUTPUTS: tuple[Output, ...] = ("list", "numpy")


def check_output(output: object) -> Output:
    """``"list"`` or ``"numpy"`` (else ``ValueError``); ``"numpy"`` needs numpy installed.

    Without numpy, ``"numpy"`` raises ``ImportError`` naming the ``textservice[numpy]`` extra.
    """
    if not isinstance(output, str) or output not in OUTPUTS:
        raise ValueError(f"output must be 'list' or 'numpy', got {output!r}")
    if output == "numpy":
        require_numpy()
        return "numpy"
    return "list"


def check_progress(progress: object) -> Callable[[int, int], None] | None:
    """``None`` or a callable ``progress(done, total)``; else ``TypeError``."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    return progress


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """``None`` or a positive finite number of seconds; else ``TypeError``/``ValueError``."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(timeout).__name__}")
    if math.isnan(timeout) or timeout <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {timeout!r}")
    return None if math.isinf(timeout) else float(timeout)


def check_retry(retry: object, name: str = "retry") -> Retry | None:
    """A :class:`Retry` or ``None`` (no retries); else ``TypeError``."""
    if retry is None or isinstance(retry, Retry):
        return retry
    raise TypeError(
        f"{name} must be a textservice.Retry or None (no retries), got {type(retry).__name__}"
    )


def check_request_options(request_options: object) -> RequestOptions:
    """Validate ``{"timeout": seconds, "retry": Retry | None}``; unknown keys -> ``TypeError``."""
    if request_options is None:
        return RequestOptions()
    if not isinstance(request_options, Mapping):
        raise TypeError(
            "request_options must be a mapping such as {'timeout': 30, 'retry': None}, "
            f"got {type(request_options).__name__}"
        )
    unknown = sorted(repr(k) for k in request_options if k not in _REQUEST_OPTION_KEYS)
    if unknown:
        raise TypeError(
            f"request_options has unknown keys {', '.join(unknown)}; allowed: 'timeout', 'retry'"
        )
    timeout: float | EllipsisType | None = ...
    retry: Retry | EllipsisType | None = ...
    if "timeout" in request_options:
        timeout = check_timeout(request_options["timeout"], "request_options['timeout']")
    if "retry" in request_options:
        retry = check_retry(request_options["retry"], "request_options['retry']")
    return RequestOptions(timeout=timeout, retry=retry)


def check_max_concurrency(value: object) -> int:
    """An ``int`` >= 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_concurrency must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {value}")
    return value


def check_metadata(metadata: object) -> tuple[tuple[str, str | bytes], ...]:
    """User metadata as pairs: a mapping or a sequence of ``(key, value)`` pairs.

    Keys are lowercase ASCII strings (gRPC metadata keys); values are ``str``, or ``bytes``
    for keys ending in ``-bin``. ``x-goog-api-key`` is refused: pass ``api_key=`` instead.
    """
    if metadata is None:
        return ()
    if isinstance(metadata, Mapping):
        pairs: Iterable[object] = metadata.items()
    elif isinstance(metadata, Sequence) and not isinstance(metadata, str | bytes):
        pairs = metadata
    else:
        raise TypeError(
            f"metadata must be a mapping or a sequence of (key, value) pairs, "
            f"got {type(metadata).__name__}"
        )
    out: list[tuple[str, str | bytes]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError(f"metadata items must be (key, value) pairs, got {type(pair).__name__}")
        key, value = pair
        if not isinstance(key, str) or not key or key != key.lower() or not key.isascii():
            raise ValueError(f"metadata key must be a lowercase ASCII str, got {key!r}")
        if key == "x-goog-api-key":
            raise ValueError("metadata must not set x-goog-api-key; pass api_key= instead")
        wanted = bytes if key.endswith("-bin") else str
        if not isinstance(value, wanted):
            raise TypeError(
                f"metadata value for {key!r} must be {wanted.__name__}, got {type(value).__name__}"
            )
        out.append((key, value))
    return tuple(out)
