"""Content keys: what each result's vector was made from, so a rerun can reuse it.

Every result of a file output carries a key of 16 bytes (32 hex digits):

- the first 4 bytes name the settings (:class:`~textservice.cli.digests.VectorSettings`: model,
  service, task type, output dimensionality, normalizing, the fake; not the kept columns,
  which do not change a vector), the same for every result of a run, so a rerun tells
  "another model or options" apart from "other texts";
- the other 12 are a BLAKE2b hash of the settings and the item: its text, its title and, for a
  media file, the BLAKE2b digest of the file's bytes (read when the key is made).

The record's id, line and kept columns are not part of it: a line that moved, was renumbered
by an insertion or appears twice keeps its key, and its vector is reused
(:mod:`textservice.cli.reuse`). 96 bits of item hash make an accidental match between two
items of a corpus of a billion vanishingly unlikely (about 1 in 10^11).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json.encoder
from collections.abc import Callable

from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.files import file_digest
from textservice.cli.inputs import Record

__all__ = ["KEY_SIZE", "ContentKeys", "is_key"]

KEY_SIZE = 16
"""Bytes in a key (its hex form has twice as many digits)."""
_TAG_SIZE = 4
_DOMAIN = b"textservice embed content key 1\n"
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii
_HEX = frozenset("0123456789abcdef")


def is_key(value: object) -> bool:
    """Whether ``value`` is a key's hex form (lowercase, ``2 * KEY_SIZE`` digits)."""
    return isinstance(value, str) and len(value) == 2 * KEY_SIZE and _HEX.issuperset(value)


class ContentKeys:
    """The keys of one run's records (``settings``: what decides its vectors)."""

    def __init__(self, settings: VectorSettings) -> None:
        # what decides the vectors: --keep-columns decides the output's other columns only
        canonical = dataclasses.replace(settings, keep_columns=None).canonical()
        self.tag = hashlib.blake2b(_DOMAIN + canonical, digest_size=_TAG_SIZE).digest()
        """The settings' part of every key of this run."""
        self._base = hashlib.blake2b(_DOMAIN + canonical + b"\n", digest_size=KEY_SIZE - _TAG_SIZE)

    def key(self, record: Record, file_hash: str | None = None) -> bytes:
        """``record``'s key (its file, if any, is read and hashed now unless ``file_hash``
        gives its ``file_digest``)."""
        # The ASCII bytes of the JSON list [text, title or null, file digest or null]: JSON
        # keeps the parts apart, and a text never hashes like a file.
        title = "null" if record.title is None else _json_string(record.title)
        file = "null"
        if record.file is not None:
            file = f'"{file_hash if file_hash is not None else file_digest(record.file)}"'
        h = self._base.copy()
        h.update(f"[{_json_string(record.text)}, {title}, {file}]".encode("ascii"))
        return self.tag + h.digest()

    def hexkey(self, record: Record, file_hash: str | None = None) -> str:
        """``record``'s key as hex, as outputs store it."""
        return self.key(record, file_hash).hex()

    def add(self, chain: DigestChain, record: Record) -> tuple[str, str]:
        """Take ``record`` into ``chain``; its digest and its key (hex), a media file read
        once for both."""
        file_hash = file_digest(record.file) if record.file is not None else None
        return chain.add(record, file_hash), self.hexkey(record, file_hash)
