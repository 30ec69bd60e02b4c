"""Shared checks of user input, done before any network call, with errors naming the argument.

The type tests every validator in the package builds on are written here once: an ``int``
that is not a ``bool`` (``True`` is an ``int`` to Python, never a count to a user), a real
number that is not a ``bool``. This module imports nothing of the package, so every layer
may use it.

Texts: a ``str`` is one text; a ``list``/``tuple`` (or any other ordered iterable such as a
generator, consumed once) of ``str`` is many. Rejected with ``TypeError``: ``None``, ``bytes``
and other binary buffers, numbers, mappings, sets (no order), nested sequences and any item
that is not a ``str``; with ``ValueError``: a text holding a lone surrogate (it cannot be
encoded as UTF-8, so it could never be sent).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Set, Sized
from typing import Protocol, TypeGuard, cast

__all__ = [
    "BARE_MODEL_PREFIX",
    "MODEL_PREFIXES",
    "HasName",
    "check_callable",
    "check_count",
    "check_model",
    "check_positive",
    "check_seconds",
    "check_text",
    "check_text_stream",
    "check_texts",
    "encodable",
    "is_int",
    "is_number",
    "is_stream",
    "kind",
]

MODEL_PREFIXES = ("models/", "tunedModels/")

_MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+\Z")
"""A model's resource name: a prefix of ``MODEL_PREFIXES``, then a non-empty id holding no
``/`` and no whitespace."""

_MODEL_ID = re.compile(r"[^/\s]+\Z")
"""A bare model id (``gemini-embedding-001``): non-empty, no ``/``, no whitespace."""

BARE_MODEL_PREFIX = MODEL_PREFIXES[0]
"""What a bare model id gets in front of it. Google's SDK does the same for the Gemini API:
google-genai's ``_transformers.t_model`` returns a name starting with ``models/`` or
``tunedModels/`` as it is and any other as ``f"models/{model}"``."""


def is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is an ``int`` or ``float`` and not a ``bool``."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def kind(value: object) -> str:
    """The name of ``value``'s type, for error messages."""
    return type(value).__name__


def check_count(value: object, name: str, *, low: int = 1, high: int | None = None) -> int:
    """An ``int`` (not a ``bool``) in ``low..high``; else ``TypeError``/``ValueError``."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {kind(value)}")
    if high is not None and not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def check_seconds(value: object, name: str = "timeout") -> float | None:
    """``None`` or a positive number of seconds (infinity: ``None``); else ``TypeError`` /
    ``ValueError``."""
    if value is None:
        return None
    if not is_number(value):
        raise TypeError(f"{name} must be a number of seconds or None, got {kind(value)}")
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return None if math.isinf(value) else float(value)


def check_positive(value: object, name: str, *, high: float | None = None) -> float:
    """A finite number > 0 (and <= ``high``); else ``TypeError`` / ``ValueError``."""
    if not is_number(value):
        raise TypeError(f"{name} must be a number, got {kind(value)}")
    number = float(value)
    if not (math.isfinite(number) and number > 0) or (high is not None and number > high):
        span = f"in (0, {high:g}]" if high is not None else "a finite number > 0"
        raise ValueError(f"{name} must be {span}, got {value!r}")
    return number


def check_callable(value: object, name: str) -> Callable[..., object] | None:
    """``None`` or a callable; else ``TypeError``."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {kind(value)}")
    return value


def encodable(text: str, argument: str) -> str:
    """``text`` if it can be sent (encoded as UTF-8), else ``ValueError`` naming ``argument``.

    Only a lone surrogate (``"\\ud800"``, e.g. from ``surrogateescape`` decoding) cannot be:
    protobuf strings are UTF-8. ASCII text, the common case, is not encoded to check it.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{argument} is not valid Unicode text: it holds a lone surrogate "
            f"{text[exc.start]!r} at position {exc.start}, which cannot be encoded as UTF-8 "
            "(decode its bytes with errors='replace', or fix the source)"
        ) from None
    return text


class HasName(Protocol):
    """Anything with a ``.name`` (a ``Model`` object)."""

    @property
    def name(self) -> str: ...


def check_model(model: object) -> str:
    """The model's resource name: ``models/{id}`` or ``tunedModels/{id}`` as given, a bare
    ``{id}`` as ``models/{id}`` (``"gemini-embedding-001"``, as Google's SDK takes it); else
    ``ValueError``.

    The id is one or more characters with no ``/`` or whitespace (``models/a/b``,
    ``'models/ '``, ``"model/x"`` and ``""`` are refused).

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
            f"str .name (a Model), got {kind(model)}"
        )
    if _MODEL_NAME.match(name) is None:
        if _MODEL_ID.match(name) is None:
            raise ValueError(
                "model name must start with 'models/' or 'tunedModels/' followed by an id "
                "(one or more characters, no '/' or whitespace), or be a bare id such as "
                f"'gemini-embedding-001' (read as 'models/gemini-embedding-001'), got {name!r}"
            )
        name = BARE_MODEL_PREFIX + name
    return encodable(name, "model")


def _checked_text(item: object, name: str) -> str:
    """``item`` if it is a ``str`` that can be sent, else ``TypeError``/``ValueError`` naming
    it (``name``: ``texts[3]``)."""
    if not isinstance(item, str):
        nested = " (nested sequences are not accepted)" if isinstance(item, Iterable) else ""
        raise TypeError(f"{name} must be a str, got {kind(item)}{nested}")
    if not item.isascii():  # the common case needs no encoding to check
        encodable(item, name)
    return item


def _check_iterable(text: object, name: str) -> Iterable[object]:
    """``text`` if it is an ordered iterable of texts' kind, else ``TypeError``."""
    if text is None or isinstance(text, bytes | bytearray | memoryview):
        raise TypeError(
            f"{name} must be a str or a sequence of str, got {kind(text)}"
            + (" (decode bytes to str first)" if text is not None else "")
        )
    if isinstance(text, Mapping | Set) or not isinstance(text, Iterable):
        reason = " (a set or mapping has no order)" if isinstance(text, Mapping | Set) else ""
        raise TypeError(f"{name} must be a str or a sequence of str, got {kind(text)}{reason}")
    return text


def check_text(text: object, name: str = "text") -> str | list[str]:
    """One text (``str``) or a new list of texts; ``TypeError`` for anything else.

    Sequences and other ordered iterables (generators included) of ``str`` are accepted and
    copied into a list; see the module docstring for what is rejected. A text that cannot be
    encoded as UTF-8 raises ``ValueError`` naming its index.
    """
    if isinstance(text, str):
        return encodable(text, name)
    texts = list(_check_iterable(text, name))
    for i, item in enumerate(texts):
        _checked_text(item, f"{name}[{i}]")
    return cast("list[str]", texts)


def check_texts(texts: object) -> list[str]:
    """A new list of texts, as ``check_text`` accepts them, but never one ``str``."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of str, not a single str (use [text])")
    checked = check_text(texts, "texts")
    assert isinstance(checked, list)
    return checked


def is_stream(items: object) -> bool:
    """Whether ``items`` is read as a stream: an iterable without a length (a generator, an
    iterator, a file's lines), whose items are checked as they are read, never held whole.
    A sized collection (a list, a tuple, a numpy array, a pandas Series) is not."""
    return isinstance(items, Iterable) and not isinstance(items, Sized)


def check_text_stream(texts: object) -> list[str] | Iterator[str]:
    """``check_texts`` for a sized collection (a new list, every text checked now); an
    iterable without a length (``is_stream``) is checked now only as a whole, and each text
    as it is read
    (``TypeError``/``ValueError`` naming its index then), so an input of unknown length is
    never held in memory."""
    if not is_stream(texts):
        return check_texts(texts)
    source = iter(_check_iterable(texts, "texts"))
    return (_checked_text(item, f"texts[{i}]") for i, item in enumerate(source))
