"""Reading betterproto2's per-class field metadata (field names, numbers, types, classes)."""

from __future__ import annotations

import betterproto2


def message_metadata(message_type: type[betterproto2.Message]) -> betterproto2.ProtoClassMetadata:
    """The ``ProtoClassMetadata`` betterproto2 builds for ``message_type``."""
    # betterproto2 exposes it as a class property whose annotation mypy cannot apply to an
    # arbitrary message class; the value is the documented metadata object.
    meta: betterproto2.ProtoClassMetadata = message_type._betterproto  # type: ignore[arg-type]
    return meta
