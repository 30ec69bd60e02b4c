"""The API key as a value that does not print, and its removal from logs and error details.

The key travels as ``x-goog-api-key`` metadata, so the HTTP/2 header encoder (``hpack``) sees
it, and at DEBUG level ``hpack`` logs every header it encodes or decodes and every raw header
block. Turning on DEBUG logging must not print the key: a filter on those loggers replaces the
keys of live clients with ``<redacted>`` and elides raw header blocks while any key is live.
A server may also echo the key in an error's ``google.rpc`` details: ``scrub_details`` removes it.

Where an object that is pickled to other processes (Ray, Dask and Spark workers) needs the key, it
holds a key source instead: ``KeyFile`` (a path) or ``KeyEnvVar`` (a variable's name), each a
callable that reads the key where it runs, so the pickle holds where the key is, not the key.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import betterproto2

__all__ = [
    "REDACTED",
    "Concealed",
    "KeyEnvVar",
    "KeyFile",
    "KeySource",
    "Secret",
    "check_api_key",
    "holds_secret",
    "read_key",
    "read_key_file",
    "scrub",
    "scrub_details",
]

REDACTED = "<redacted>"

_FILTERED_LOGGERS = (
    "hpack.hpack",
    "hpack.table",
    "grpclib.client",
    "grpclib.protocol",
    "grpclib.server",
    "textservice",
)
_HEADER_BLOCK_MESSAGES = frozenset({"Encoded header block to %s", "Decoding %s"})

_live: weakref.WeakValueDictionary[int, Secret] = weakref.WeakValueDictionary()
"""The live keys' ``Secret``s by ``id`` (a ``Secret`` is unhashable)."""
_lock = threading.Lock()
_installed = False


def _after_fork() -> None:
    # A thread of the parent may have held the lock when it forked; the child has no such
    # thread to release it.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def check_api_key(value: str, source: str = "api_key") -> str:
    """``value`` if it can be an API key: one line of printable ASCII without spaces, else a
    ``ValueError`` naming ``source`` and the first bad character's kind and position (never
    the key, nor the character itself when it is printable).

    The key travels as an HTTP/2 header value, which may hold only visible ASCII (RFC 9113
    section 8.2.1; grpclib sends nothing else as metadata), and Google's keys are made of
    letters, digits, ``-`` and ``_``: a line break, NUL or non-ASCII letter is a mistake in how
    the key was read (a two-line key file, a pasted character), found here, when the client
    is made, rather than as a failed call.
    """
    for position, char in enumerate(value, 1):
        if "!" <= char <= "~":
            continue
        if char in "\r\n":
            what = "a line break"
        elif char.isspace():
            what = f"a space ({char!r})" if char != " " else "a space"
        elif not char.isascii():
            what = "a non-ASCII character"
        else:
            what = f"a control character ({char!r})"
        raise ValueError(
            f"{source} holds {what} at character {position} of {len(value)}; an API key "
            "is one line of printable ASCII (letters, digits, - and _)"
        )
    return value


class Concealed(str):
    """The key as the ``str`` grpclib and hpack need to send it, but whose ``repr`` is
    ``<redacted>``.

    The key is held as this everywhere the library keeps it: in the metadata of a call and so
    in its frame locals, which ``traceback``'s ``capture_locals`` and error reporters (Sentry)
    print with ``repr``. grpclib passes the value on as it is (in its ``MultiDict`` and header
    list), so its frames of the call show ``<redacted>`` too. ``str()`` and formatting give the
    key itself: that is how it reaches the wire.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return REDACTED

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("the API key is not picklable")


class Secret:
    """A credential that never prints and cannot be pickled: the client's API key, and every
    key the fake server records (``textservice.testing``).

    ``repr``, ``str`` and formatting give ``<redacted>``. ``==`` compares it with the real
    value (a ``str``, ``bytes`` or another ``Secret``) in constant time; it is unhashable, as
    a hash equal to the key's would leak it. A ``str`` key is live while the ``Secret``
    lives: logs and error details lose it (``scrub``).
    """

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str | bytes) -> None:
        self._value: Concealed | bytes = Concealed(value) if isinstance(value, str) else value
        if isinstance(value, str):
            _register(self)

    def reveal(self) -> Concealed | bytes:
        """The key, for the metadata of a call (as a ``str``, one whose repr hides it), or for
        the rare test that must see it."""
        return self._value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other._value
        if isinstance(other, str):
            other = other.encode("utf-8")
        if not isinstance(other, bytes):
            return NotImplemented
        value = self._value
        mine = value.encode("utf-8") if isinstance(value, str) else value
        return hmac.compare_digest(mine, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("the API key is not picklable")


KeySource = Callable[[], str]
"""Where a process finds the API key: called there, it returns the key."""


def read_key_file(path: str | os.PathLike[str], source: str | None = None) -> str:
    """The key held in the file at ``path``, surrounding whitespace removed, checked by
    ``check_api_key``; errors name ``source`` (by default "API key file PATH").

    Raises:
        OSError: The file cannot be read.
        ValueError: The file is not UTF-8 text, holds only whitespace, or is not one key
            (two lines, a NUL, a non-ASCII letter).
    """
    source = source or f"API key file {os.fspath(path)}"
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not UTF-8 text") from None
    if not key:
        raise ValueError(f"{source} is empty")
    return check_api_key(key, source)


@dataclasses.dataclass(frozen=True)
class KeyFile:
    """The API key in the file at ``path`` of the machine where it is read (a secret mounted
    as a file, say); it pickles as the path."""

    path: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        object.__setattr__(self, "path", os.fspath(path))

    def __call__(self) -> str:
        return read_key_file(self.path)


@dataclasses.dataclass(frozen=True)
class KeyEnvVar:
    """The API key in the environment variable ``name`` of the process where it is read; it
    pickles as the name."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, not {type(self.name).__name__}")
        if not self.name:
            raise ValueError("name is empty")

    def __call__(self) -> str:
        key = os.environ.get(self.name, "").strip()
        if not key:
            raise ValueError(f"no API key: the environment variable {self.name} is not set here")
        return key


def read_key(source: KeySource) -> str:
    """The key ``source`` gives: a ``TypeError`` or ``ValueError`` (never showing the key) if
    it gives none."""
    key = source()
    if not isinstance(key, str):
        raise TypeError(f"the API key source {source!r} gave a {type(key).__name__}, not a str")
    if not key.strip():
        raise ValueError(f"the API key source {source!r} gave an empty key")
    return key


def live_secrets() -> list[Concealed]:
    """Keys of clients still alive."""
    with _lock:
        return [s._value for s in _live.values() if isinstance(s._value, Concealed)]


def scrub(text: str, secrets: Sequence[str] | None = None) -> str:
    """``text`` with every live key replaced by ``<redacted>``, the longest first: a key that
    holds another client's key is redacted whole, not around the shorter one."""
    for secret in sorted(live_secrets() if secrets is None else secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def holds_secret(detail: object, secrets: Sequence[str]) -> bool:
    """Whether ``detail`` (a ``google.rpc`` message, or anything printable) holds a key.

    A message is searched in its wire form: strings are stored there as they are, and the
    wire form also holds fields this version does not know (kept as raw bytes).
    """
    text = bytes(detail) if isinstance(detail, betterproto2.Message) else repr(detail).encode()
    return any(secret.encode() in text for secret in secrets if secret)


def scrub_details(details: Sequence[Any], secrets: Sequence[str]) -> list[Any]:
    """``details`` with every key in ``secrets`` replaced by ``<redacted>``.

    A detail without a key is kept as the same object. One with a key is rebuilt: strings are
    scrubbed (map keys and values, nested messages and lists too); a ``bytes`` field holding
    a key (such as the ``value`` of a ``google.protobuf.Any`` whose type is unknown) is
    emptied, as it cannot be edited without corrupting it; fields unknown to this version,
    which the message keeps as raw bytes, are dropped.
    """
    return [_scrubbed(d, secrets) if holds_secret(d, secrets) else d for d in details]


def _scrubbed(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, bytes):
        return b"" if any(s.encode() in value for s in secrets if s) else value
    if isinstance(value, list):
        return [_scrubbed(item, secrets) for item in value]
    if isinstance(value, dict):
        return {_scrubbed(k, secrets): _scrubbed(v, secrets) for k, v in value.items()}
    if isinstance(value, betterproto2.Message) and dataclasses.is_dataclass(value):
        # A new message from its fields: the unknown fields' raw bytes are not carried over.
        fields = dataclasses.fields(value)
        return type(value)(**{f.name: _scrubbed(getattr(value, f.name), secrets) for f in fields})
    return value


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        secrets = live_secrets()
        if not secrets:
            return True
        if record.msg in _HEADER_BLOCK_MESSAGES:
            # Raw HPACK bytes may hold a key in Huffman code: not printable safely.
            record.args = ("<header block elided: it may hold an API key>",)
            return True
        message = record.getMessage()
        if any(secret in message for secret in secrets):
            record.msg, record.args = scrub(message, secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = scrub(text, secrets), None
        return True


def _register(secret: Secret) -> None:
    global _installed
    with _lock:
        _live[id(secret)] = secret
        if _installed:
            return
        _installed = True
    redacting = _RedactingFilter()
    for name in _FILTERED_LOGGERS:
        logging.getLogger(name).addFilter(redacting)
