"""The API key as a value that does not print, and a log filter for the HTTP/2 libraries.

The key travels as ``x-goog-api-key`` metadata, so the HTTP/2 header encoder (``hpack``) sees
it, and at DEBUG level ``hpack`` logs every header it encodes or decodes and every raw header
block. Turning on DEBUG logging must not print the key: a filter on those loggers replaces the
keys of live clients with ``<redacted>`` and elides raw header blocks while any key is live.
"""

from __future__ import annotations

import logging
import threading
import weakref

__all__ = ["REDACTED", "Secret", "scrub"]

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

_live: weakref.WeakSet[Secret] = weakref.WeakSet()
_lock = threading.Lock()
_installed = False


class Secret:
    """Holds the API key; its ``repr``/``str`` never show it and it cannot be pickled."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        _register(self)

    def reveal(self) -> str:
        """The key itself, for the metadata of a call."""
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("the API key is not picklable")


def live_secrets() -> list[str]:
    """Keys of clients still alive."""
    with _lock:
        return [s.reveal() for s in _live]


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every live key replaced by ``<redacted>``."""
    for secret in live_secrets() if secrets is None else secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


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
        _live.add(secret)
        if _installed:
            return
        _installed = True
    redacting = _RedactingFilter()
    for name in _FILTERED_LOGGERS:
        logging.getLogger(name).addFilter(redacting)
