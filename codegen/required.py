"""The fake's table of required request fields, from the protos' ``field_behavior``.

Rendered to ``textservice/testing/_required_fields.py``: for every message a request of any
service can carry (nested and imported ones included), the fields marked
``(google.api.field_behavior) = REQUIRED``, keyed by the message's full proto name. A new API
version gets its rows with no hand edits, and a renamed field is renamed here too.
"""

from __future__ import annotations

from collections.abc import Iterable

from codegen.formatting import ruff_files
from codegen.headers import python_header
from codegen.model import ApiPackage, Kind, Message
from codegen.templating import environment

OUTPUT = "testing/_required_fields.py"
"""Where the table goes, relative to the package folder."""

TEMPLATE = "required_fields.py.j2"
TOOL = f"textservice codegen (codegen/required.py); template codegen/templates/{TEMPLATE}"


def request_messages(api: ApiPackage) -> list[Message]:
    """Every message reachable from the request types of ``api``'s services, by full name."""
    seen: dict[str, Message] = {}
    todo = [m.input_type for s in api.services for m in s.methods]
    while todo:
        name = todo.pop()
        if name in seen or name not in api.messages:
            continue
        message = seen[name] = api.messages[name]
        for f in message.fields:
            inner = f.map_value if f.kind is Kind.MAP else f
            if inner is not None and inner.kind is Kind.MESSAGE and inner.type_name:
                todo.append(inner.type_name)
    return [seen[name] for name in sorted(seen)]


def render_required_fields(packages: Iterable[ApiPackage]) -> dict[str, str]:
    """The pipeline ``Renderer`` of the table (one module for every package)."""
    rows: dict[str, tuple[str, ...]] = {}
    renamed: dict[str, str] = {}
    sources: set[str] = set()
    for api in packages:
        for message in request_messages(api):
            required = message.required_fields
            if not required:
                continue
            rows[message.full_name] = tuple(f.name for f in required)
            renamed.update((f.name, f.python_name) for f in required if f.python_name != f.name)
            sources.add(message.file)
    header = python_header(sorted(sources), TOOL).rstrip("\n")
    template = environment().get_template(TEMPLATE)
    text = template.render(
        header=header, rows=dict(sorted(rows.items())), renamed=dict(sorted(renamed.items()))
    )
    return ruff_files({OUTPUT: text}, "I", "the table of required fields")


__all__ = ["OUTPUT", "render_required_fields", "request_messages"]
