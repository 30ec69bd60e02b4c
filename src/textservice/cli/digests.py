"""Input digests: which input, model and options a ``textservice embed`` output was made from.

Every result line carries a ``"digest"``: a running hash over the settings that decide the vectors
(:class:`VectorSettings`) and every record up to and including that line's (its id, text and title
if it has one, in input order). A rerun computes the same chain over its own input and compares it
with the last line of the ``.part`` or output: equal digests mean the settings and every earlier
record are the same, because a changed record anywhere changes every digest after it. So a resume
reads one line, not every vector, and still notices a change on any line.

A finished ``.npy`` has no room for the digest (numpy refuses extra header keys), so it sits
next to it in ``OUTPUT.digest`` (:func:`digest_path`), with the rows' layout mixed in.

Those digests vouch for the input, not for the results: a :class:`ContentDigest` is a running
hash of what a ``.npy`` or Parquet output holds (its ids and vector bytes), kept in the
``.npy``'s checkpoint and in each Parquet segment, so a resume finds results that were changed,
cut or swapped after they were written. (A JSONL line has no room for one; its lines are read
back and checked one by one instead.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import json.encoder
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeGuard

from textservice.cli.files import file_digest
from textservice.cli.inputs import Record, RecordId

__all__ = [
    "ContentDigest",
    "DigestChain",
    "VectorSettings",
    "digest_path",
    "is_digest",
    "npy_digest",
]

_DOMAIN = b"textservice embed digest 1\n"
_CONTENT_DOMAIN = b"textservice embed content 1\n"
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii
_SIZE = 16  # bytes: 32 hex digits per line, far beyond any chance collision


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_SIZE).digest()


@dataclass(frozen=True)
class VectorSettings:
    """What decides the vectors besides each text; part of every digest.

    An option added later (a task type, an output dimensionality) becomes a field defaulting
    to ``None``; ``None`` fields are left out of the digest, so outputs made before the option
    existed, or without it, keep their digests and stay resumable.
    """

    model: str
    server: Literal["fake"] | None = None
    """``"fake"`` with ``--fake``: the fake's vectors are not the API's."""
    service: Literal["generative"] | None = None
    """``"generative"``: embedded by GenerativeService (BatchEmbedContents); ``None``: by
    TextService (BatchEmbedText), the only service before there was a choice."""
    task_type: str | None = None
    """The task type's enum member name (``"RETRIEVAL_DOCUMENT"``), as sent."""
    output_dimensionality: int | None = None
    normalize: Literal[True] | None = None
    """``True`` with ``--normalize`` (``None`` without: the vectors as the server sent them)."""

    def seed(self) -> bytes:
        """The chain's starting state."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return _hash(_DOMAIN + json.dumps(fields, sort_keys=True).encode("ascii"))


class DigestChain:
    """The running digest over records, one step per record in input order."""

    def __init__(self, settings: VectorSettings) -> None:
        self._state = settings.seed()

    def add(self, record: Record) -> str:
        """Take ``record`` in; the digest after it (hex), as stored in its result line."""
        # The bytes of json.dumps([id, text]), or [id, text, title] for a record with a title
        # (so a record without one hashes as before titles existed): JSON keeps the parts
        # apart and types apart (1 vs "1"), ASCII escapes make it bytes. Built from json's own
        # C string encoder, ~4x faster than json.dumps of the list (whose Python encoder loop
        # dominates).
        record_id = record.id
        shown = _json_string(record_id) if isinstance(record_id, str) else str(record_id)
        title = "" if record.title is None else f", {_json_string(record.title)}"
        if record.file is not None:
            # a media file: [id, "", title or null, {"file": BLAKE2b of its bytes}], so a
            # changed file changes the digest (four items: no text record hashes the same)
            title = f", {_json_string(record.title) if record.title is not None else 'null'}"
            title += f', {{"file": "{file_digest(record.file)}"}}'
        item = f"[{shown}, {_json_string(record.text)}{title}]".encode("ascii")
        self._state = _hash(self._state + item)
        return self._state.hex()

    def add_all(self, records: Sequence[Record]) -> str:
        """Take every record in; the digest after the last (the seed's for none)."""
        for record in records:
            self.add(record)
        return self.hexdigest

    @property
    def hexdigest(self) -> str:
        """The digest after the records added so far."""
        return self._state.hex()


def is_digest(value: object) -> TypeGuard[str]:
    """Whether ``value`` looks like a digest this module makes (lowercase hex of its size)."""
    return (
        isinstance(value, str)
        and len(value) == 2 * _SIZE
        and all(c in "0123456789abcdef" for c in value)
    )


class ContentDigest:
    """A running hash of the ids and vectors an output holds, in order.

    Ids and vectors are two streams (each hashed as it comes), so how the rows are split into
    batches, segments or row groups does not change the digest: a Parquet output's finished
    file has the digest of the segments it was joined from.
    """

    def __init__(self) -> None:
        self._ids = hashlib.blake2b(digest_size=_SIZE)
        self._vectors = hashlib.blake2b(digest_size=_SIZE)

    def add_ids(self, ids: Sequence[RecordId]) -> None:
        """Take ids in: an integer as 8 bytes (signed, little-endian), a string as its
        UTF-8 length (4 bytes) and bytes."""
        numbers = [i for i in ids if isinstance(i, int)]
        if len(numbers) == len(ids):
            packed = array("q", numbers)
            if sys.byteorder == "big":
                packed.byteswap()
            self._ids.update(packed.tobytes())
            return
        for record_id in ids:
            if not isinstance(record_id, str):
                raise ValueError("the ids of one output are all integers or all strings")
            data = record_id.encode("utf-8")
            self._ids.update(len(data).to_bytes(4, "little") + data)

    def add_vectors(self, data: bytes | memoryview) -> None:
        """Take the bytes of float32 rows (little-endian) in."""
        self._vectors.update(data)

    @property
    def hexdigest(self) -> str:
        """The digest of everything taken in so far."""
        both = _CONTENT_DOMAIN + self._ids.digest() + self._vectors.digest()
        return _hash(both).hex()


def npy_digest(chain: str, line_count: int, lines: Iterable[int]) -> str:
    """The digest of a finished ``.npy``: the records' chain and which row each one fills
    (``lines``: each record's line number, in order; read as they come, never listed)."""
    # The bytes of json.dumps([chain, line_count, [lines...]]), hashed as they are made.
    h = hashlib.blake2b(digest_size=_SIZE)
    h.update(_DOMAIN + json.dumps([chain, line_count]).encode("ascii")[:-1] + b", [")
    first = True
    chunk: list[str] = []
    for line in lines:
        chunk.append(str(line))
        if len(chunk) == 8192:
            h.update((b"" if first else b", ") + ", ".join(chunk).encode("ascii"))
            first, chunk = False, []
    if chunk:
        h.update((b"" if first else b", ") + ", ".join(chunk).encode("ascii"))
    h.update(b"]]")
    return h.hexdigest()


def digest_path(output: Path) -> Path:
    """Where a finished ``.npy`` output's digest is kept: ``OUTPUT`` + ``.digest``."""
    return output.with_name(output.name + ".digest")
