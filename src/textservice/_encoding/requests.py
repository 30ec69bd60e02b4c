"""What a request carries for quotas: its model and its texts, read from any message.

The client's rate governor counts a call per (method, model) and by the texts it carries; the
fake's quotas (``textservice.testing.quotas``) count the same way. Both read requests here,
so the two agree on every RPC, of any service, without knowing its messages: the model is a
top-level ``model`` field, the texts are the strings in fields named ``text`` or ``texts`` at
any depth (``EmbedText.text``, ``BatchEmbedText.texts``, ``requests[].content.parts[].text``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import betterproto2

from textservice._encoding.metadata import message_metadata

__all__ = ["request_model", "request_texts"]


def request_model(request: Any) -> str:
    """The request's ``model`` field (``""`` when it has none)."""
    model = getattr(request, "model", None)
    return model if isinstance(model, str) else ""


def request_texts(message: Any) -> Iterator[str]:
    """Every string in fields named ``text`` or ``texts`` of ``message``, at any depth."""
    if not isinstance(message, betterproto2.Message):
        return
    proto = message_metadata(type(message))
    for name in proto.sorted_field_names:
        value = getattr(message, name, None)
        items = value if isinstance(value, list) else [value]
        if name in ("text", "texts"):
            yield from (item for item in items if isinstance(item, str))
        elif proto.meta_by_field_name[name].proto_type == betterproto2.TYPE_MESSAGE:
            for item in items:
                yield from request_texts(item)
