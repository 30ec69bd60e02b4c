"""Field roles: the request fields the runtime gives rules to, found by number and type.

``embed_content``'s options have rules (a title needs the RETRIEVAL_DOCUMENT task type; a
dimensionality is a positive int; a task type takes names), and so do the fake's answers and
checks. Which field plays which role is decided here, once, from the descriptors: by the
field's number and type, as the API keeps them when it renames a field (``title = 4`` stays
field 4), with the name only as a fallback (a field moved to another number). ``ROLES`` is the
only table of them: the facade plan reads it for its content recipe, and the fake reads what
``render_field_roles`` writes from it (``textservice/testing/_field_roles.py``).

A field that has a role's number or name but not its type (``title`` turned into an int, or
field 4 given to another field) would silently lose the role's rules, so it stops generation
(``CodegenError`` naming the field and the role). A request with neither the number nor the
name simply has no such role (an older version without ``output_dimensionality``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from codegen.errors import CodegenError
from codegen.formatting import ruff_files
from codegen.headers import python_header
from codegen.model import ApiPackage, Field, Kind, Message
from codegen.paths import profiles
from codegen.shapes import Payload, Shape, classify_service
from codegen.templating import environment

OUTPUT = "testing/_field_roles.py"
"""Where the fake's copy of the roles goes, relative to the package folder."""

TEMPLATE = "field_roles.py.j2"
TOOL = f"textservice codegen (codegen/roles.py); template codegen/templates/{TEMPLATE}"


@dataclass(frozen=True)
class Role:
    """What a field must be to play a role in a request."""

    name: str
    """The role, and the field's name in today's protos (the fallback)."""
    number: int
    """The field's number in the protos (``EmbedContentRequest.title = 4``)."""
    kind: str
    """``string``, ``enum`` or ``integer``: what the field holds (always a single value)."""
    rule: str
    """What the runtime does with it (for error messages and docs)."""

    def fits(self, f: Field) -> bool:
        """Whether ``f`` has this role's type."""
        if f.repeated or f.kind is Kind.MAP:
            return False
        if self.kind == "integer":
            return f.kind.is_integer
        return f.kind is Kind(self.kind)

    @property
    def described(self) -> str:
        """``a singular string field``."""
        return f"a singular {self.kind} field"


TASK_TYPE = Role("task_type", 3, "enum", "takes the TaskType's names, old short ones too")
TITLE = Role("title", 4, "string", f"needs the {profiles().TITLED_TASK} task type")
OUTPUT_DIMENSIONALITY = Role("output_dimensionality", 5, "integer", "is a positive int")

ROLES: tuple[Role, ...] = (TASK_TYPE, TITLE, OUTPUT_DIMENSIONALITY)
"""The options of a single-embed request of ``Content`` (``EmbedContentRequest``), as the
API's protos number them: ``task_type = 3``, ``title = 4``, ``output_dimensionality = 5`` in
googleapis' ``google/ai/generativelanguage/{v1,v1beta,v1alpha}/generative_service.proto``, the
same from 2024-06 (cb060cbb75) to 2026-08 (f8291d2b; copies in ``tests/protos/googleapis``)."""

CONTENT, REQUESTS = "content", "requests"
"""The keys of the payload fields in the fake's table: the content of a single-embed request
and the repeated requests of a batch, found by structure (``codegen.shapes``)."""


def resolve(message: Message, roles: Iterable[Role] = ROLES) -> dict[str, Field]:
    """The field playing each role in ``message`` (a role it has no field for is left out).

    ``CodegenError`` when a field has a role's number or name but not its type.
    """
    found: dict[str, Field] = {}
    for role in roles:
        by_number = next((f for f in message.fields if f.number == role.number), None)
        by_name = message.field(role.name)
        if by_number is not None and role.fits(by_number):
            found[role.name] = by_number
        elif by_name is not None and role.fits(by_name):
            found[role.name] = by_name
        elif by_number is not None or by_name is not None:
            bad = by_name if by_name is not None else by_number
            assert bad is not None
            what = "repeated " if bad.repeated else ""
            same = [w for w, f in (("name", by_name), ("number", by_number)) if f is bad]
            raise CodegenError(
                f"{message.full_name}.{bad.name} (field {bad.number}, {what}{bad.kind.value}) "
                f"has the {' and '.join(same)} of the {role.name!r} role "
                f"(field {role.number}, {role.described}; it {role.rule}) but not its type, "
                "so the facade and the fake would silently drop that rule: update ROLES in "
                "codegen/roles.py to say which field has the role now"
            )
    return found


def _rows(api: ApiPackage) -> dict[str, dict[str, str]]:
    """Request full name -> {role or payload key: betterproto2 attribute} of one package."""
    rows: dict[str, dict[str, str]] = {}
    for service in api.services:
        for c in classify_service(service, api):
            if c.payload_field is None:
                continue
            request = api.message(c.method.input_type)
            if c.shape is Shape.EMBED and c.payload is Payload.CONTENT:
                row = {CONTENT: c.payload_field.python_name}
                row.update((name, f.python_name) for name, f in resolve(request).items())
            elif c.shape is Shape.BATCH_EMBED and c.payload is Payload.REQUESTS:
                row = {REQUESTS: c.payload_field.python_name}
            else:
                continue
            rows[request.full_name] = dict(sorted(row.items()))
    return rows


def render_field_roles(packages: Iterable[ApiPackage]) -> dict[str, str]:
    """The pipeline ``Renderer`` of the fake's table (one module for every package)."""
    rows: dict[str, dict[str, str]] = {}
    sources: set[str] = set()
    for api in packages:
        found = _rows(api)
        rows.update(found)
        sources.update(api.message(name).file for name in found)
    header = python_header(sorted(sources), TOOL).rstrip("\n")
    text = (
        environment()
        .get_template(TEMPLATE)
        .render(
            header=header,
            roles=ROLES,
            payloads=(CONTENT, REQUESTS),
            rows=dict(sorted(rows.items())),
        )
    )
    return ruff_files({OUTPUT: text}, "I", "the table of field roles")


__all__ = [
    "CONTENT",
    "OUTPUT",
    "OUTPUT_DIMENSIONALITY",
    "REQUESTS",
    "ROLES",
    "TASK_TYPE",
    "TITLE",
    "Role",
    "render_field_roles",
    "resolve",
]
