"""Input digests: which input, model and options a ``textservice embed`` output was made from.

Every result line carries a ``"digest"``: a running hash over the settings that decide the vectors
(:class:`VectorSettings`) and every record up to and including that line's (its id, text and title
if it has one, in input order). A rerun computes the same chain over its own input and compares it
with the last line of the ``.part`` or output: equal digests mean the settings and every earlier
record are the same, because a changed record anywhere changes every digest after it. So a resume
reads one line, not every vector, and still notices a change on any line.

A finished ``.npy`` has no room for the digest (numpy refuses extra header keys), so it sits
next to it in ``OUTPUT.digest`` (:func:`digest_path`), with the rows' layout mixed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import json.encoder
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textservice.cli.files import file_digest
from textservice.cli.inputs import Record

__all__ = ["DigestChain", "VectorSettings", "digest_path", "npy_digest"]

_DOMAIN = b"textservice embed digest 1\n"
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
