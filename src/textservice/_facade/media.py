"""Media items of ``embed_content``: files, blobs and multi-part items, checked before any call.

An item may be, besides a text:

- a ``pathlib.Path`` (any ``os.PathLike``): one file, its mime type from its suffix
  (``textservice._profiles.MEDIA_SUFFIXES``);
- a mapping ``{"mime_type": str, "data": bytes}``: one blob;
- a mapping ``{"parts": [...]}`` (and an optional ``"title"``), whose parts are strings,
  blob mappings or paths, in order: ONE ``Content``, so the model gives ONE aggregated
  vector for them.

A file is stat'ed here (its size counts against the request size) and read only when the
request carrying it is written, as its batch is sent. ``check_media`` holds the items to the
model's profile: a text-only model takes none (``ValueError`` naming the item); a model with
media rules takes only its mime types and at most its images per item; no item may exceed
the API's request size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from textservice._checks import encodable, kind
from textservice._encoding.embed_requests import Blob, Document
from textservice._profiles import MAX_REQUEST_BYTES, MEDIA_SUFFIXES, ModelProfile

__all__ = ["ContentItem", "ContentItems", "check_media", "is_media", "media_item", "request_size"]

ContentItem: TypeAlias = str | os.PathLike[str] | Mapping[str, Any]
"""An item of ``embed_content``, as typed in the generated facades: a text, a path, or a
mapping (a text with its title, a blob, or parts)."""

ContentItems: TypeAlias = (
    list[str]
    | list[Path]
    | list[str | Mapping[str, str | None]]
    | list[ContentItem]
    | tuple[ContentItem, ...]
)
"""A list or tuple of items (``embed_content`` returns one vector per item)."""

_BLOB_KEYS = ("mime_type", "data")
_PARTS_KEYS = ("parts", "title")


def is_media(value: object) -> bool:
    """Whether ``value`` is a media item's form (a path, a blob or a parts mapping)."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, Mapping) and ("parts" in value or "data" in value)


def _path_blob(value: os.PathLike[str], argument: str) -> Blob:
    path = Path(value)
    mime = MEDIA_SUFFIXES.get(path.suffix.lower())
    if mime is None:
        raise ValueError(
            f"{argument}: cannot tell the mime type of {str(path)!r} from its suffix (known: "
            f"{', '.join(MEDIA_SUFFIXES)}); pass {{'mime_type': ..., 'data': ...}} instead"
        )
    try:
        return Blob.of_file(mime, path)
    except OSError as exc:
        raise ValueError(f"{argument}: cannot read {str(path)!r}: {exc.strerror or exc}") from None


def _mapping_blob(value: Mapping[object, object], argument: str) -> Blob:
    unknown = [k for k in value if k not in _BLOB_KEYS]
    if unknown:
        raise ValueError(
            f"{argument} has unknown key {unknown[0]!r} (a blob's keys are 'mime_type' and 'data')"
        )
    mime, data = value.get("mime_type"), value.get("data")
    if not isinstance(mime, str) or not mime.strip():
        raise TypeError(f"{argument}['mime_type'] must be a non-empty str, got {kind(mime)}")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{argument}['data'] must be bytes, got {kind(data)}")
    return Blob.of_bytes(encodable(mime.strip(), f"{argument}['mime_type']"), bytes(data))


def _part(value: object, argument: str) -> str | Blob:
    if isinstance(value, str):
        return encodable(value, argument)
    if isinstance(value, os.PathLike):
        return _path_blob(value, argument)
    if isinstance(value, Mapping):
        return _mapping_blob(value, argument)
    raise TypeError(
        f"{argument} must be a str, a path or a mapping {{'mime_type': str, 'data': bytes}}, "
        f"got {kind(value)}"
    )


def media_item(value: object, argument: str) -> Document:
    """A media item (``is_media(value)``) as a ``Document`` with parts; ``TypeError`` /
    ``ValueError`` naming ``argument`` (and the part)."""
    if isinstance(value, os.PathLike):
        return Document("", None, (_path_blob(value, argument),))
    assert isinstance(value, Mapping)
    if "parts" not in value:
        return Document("", None, (_mapping_blob(value, argument),))
    unknown = [k for k in value if k not in _PARTS_KEYS]
    if unknown:
        raise ValueError(
            f"{argument} has unknown key {unknown[0]!r} (a parts item's keys are 'parts' and "
            "'title')"
        )
    given, title = value["parts"], value.get("title")
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        raise TypeError(f"{argument}['parts'] must be a sequence of parts, got {kind(given)}")
    parts = tuple(_part(p, f"{argument}['parts'][{i}]") for i, p in enumerate(given))
    if not parts:
        raise ValueError(f"{argument}['parts'] is empty")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{argument}['title'] must be a str or None, got {kind(title)}")
    checked_title = None if title is None else encodable(title, f"{argument}['title']")
    text = "".join(p for p in parts if isinstance(p, str))
    return Document(text, checked_title, parts)


def request_size(item: Document) -> int:
    """About how many bytes ``item`` adds to a request (its texts, title and data)."""
    size = len(item.text.encode("utf-8")) + len((item.title or "").encode("utf-8"))
    return size + sum(p.size + len(p.mime_type) + 16 for p in item.parts if isinstance(p, Blob))


def _describe(blob: Blob) -> str:
    return f"{blob.mime_type} ({blob.path})" if blob.path is not None else blob.mime_type


def check_media(
    items: Sequence[Document], model: str, profile: ModelProfile, argument: str, *, one: bool
) -> int:
    """Hold the media items to ``model``'s ``profile`` (``ValueError`` naming the item:
    ``argument``, or ``argument[i]`` unless the call has ``one`` item); the largest item's
    request size (0 without media)."""
    largest = 0
    for index, item in enumerate(items):
        if not item.parts:
            continue
        name = argument if one else f"{argument}[{index}]"
        blobs = [p for p in item.parts if isinstance(p, Blob)]
        rules = profile.media
        if rules is None and blobs:
            raise ValueError(
                f"{name} is a media item ({_describe(blobs[0])}), but {model} embeds text only "
                "(use models/gemini-embedding-2 for images, PDFs, audio and video)"
            )
        images = 0
        for blob in blobs:
            found = rules.kind(blob.mime_type) if rules is not None else None
            if found is None:
                assert rules is not None
                raise ValueError(
                    f"{name}: {model} does not embed {_describe(blob)}; it takes "
                    f"{', '.join(sorted(rules.kinds))}"
                )
            images += found == "image"
        if rules is not None and rules.max_images is not None and images > rules.max_images:
            raise ValueError(
                f"{name} holds {images} images; {model} takes at most {rules.max_images} per item"
            )
        size = request_size(item)
        if size > MAX_REQUEST_BYTES:
            raise ValueError(
                f"{name} is {size:,} bytes; the API takes requests of at most "
                f"{MAX_REQUEST_BYTES:,} bytes"
            )
        largest = max(largest, size)
    return largest
