"""Reading betterproto2's per-class field metadata (field names, numbers, types, classes), and
the JSON name of a field."""

from __future__ import annotations

from typing import TYPE_CHECKING

# betterproto2 is imported where a message is read, not when a facade is imported (issue 21)
if TYPE_CHECKING:
    import betterproto2


def message_metadata(message_type: type[betterproto2.Message]) -> betterproto2.ProtoClassMetadata:
    """The ``ProtoClassMetadata`` betterproto2 builds for ``message_type``."""
    # betterproto2 exposes it as a class property whose annotation mypy cannot apply to an
    # arbitrary message class; the value is the documented metadata object.
    meta: betterproto2.ProtoClassMetadata = message_type._betterproto  # type: ignore[arg-type]
    return meta


def json_name(python_name: str) -> str:
    """The proto3 JSON name of a field from its betterproto2 attribute name (``task_type`` ->
    ``taskType``; a keyword's trailing ``_`` dropped), as betterproto2's ``to_dict`` writes it."""
    import betterproto2

    name: str = betterproto2.Casing.CAMEL(python_name)
    return name.rstrip("_")
