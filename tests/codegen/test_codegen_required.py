"""The fake's table of required request fields, generated from ``field_behavior``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from codegen.headers import MARKER
from codegen.model import ApiPackage, Behavior, Field, Kind, Message, Method, Service
from codegen.names import python_field_name
from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT, Layout
from codegen.pipeline import build
from codegen.required import OUTPUT, render_required_fields

pytestmark = pytest.mark.subprocess

PKG = "test.req.v1"
REQUIRED = frozenset({Behavior.REQUIRED})


def f(name: str, number: int, kind: Kind, **kw: Any) -> Field:
    return Field(name=name, python_name=python_field_name(name), number=number, kind=kind, **kw)


def msg(name: str, *fields: Field) -> Message:
    return Message(full_name=f"{PKG}.{name}", python_name=name, package=PKG, fields=fields,
                   file="test/req/v1/a.proto")  # fmt: skip


def _table(packages: list[ApiPackage]) -> dict[str, Any]:
    (text,) = render_required_fields(packages).values()
    namespace: dict[str, Any] = {}
    exec(compile(text, OUTPUT, "exec"), namespace)
    return namespace


def test_rows_for_every_message_a_request_can_carry() -> None:
    messages = [
        msg("Request", f("model", 1, Kind.STRING, behaviors=REQUIRED),
            f("inner", 2, Kind.MESSAGE, type_name=f"{PKG}.Inner"),
            f("by_key", 3, Kind.MAP, map_key=Kind.STRING,
              map_value=f("value", 2, Kind.MESSAGE, type_name=f"{PKG}.Valued")),
            f("optional", 4, Kind.STRING)),
        msg("Inner", f("from", 1, Kind.STRING, behaviors=REQUIRED),
            f("note", 2, Kind.STRING, behaviors=frozenset({Behavior.OPTIONAL}))),
        msg("Valued", f("kind", 1, Kind.ENUM, behaviors=REQUIRED)),
        msg("Response", f("id", 1, Kind.STRING, behaviors=REQUIRED)),  # only in responses
        msg("Nothing", f("a", 1, Kind.STRING)),
    ]  # fmt: skip
    package = ApiPackage(
        package=PKG,
        files=("test/req/v1/a.proto",),
        services=(Service("S", f"{PKG}.S", (Method("Do", f"{PKG}.Request", f"{PKG}.Response"),)),),
        messages={m.full_name: m for m in messages},
    )
    table = _table([package])
    assert table["REQUIRED_FIELDS"] == {
        f"{PKG}.Inner": ("from",),
        f"{PKG}.Request": ("model",),
        f"{PKG}.Valued": ("kind",),
    }
    assert table["ATTRIBUTE_NAMES"] == {"from": "from_"}  # betterproto2's name for a keyword
    text = render_required_fields([package])[OUTPUT]
    assert text.startswith(MARKER) and "test/req/v1/a.proto" in text.split('"""', 1)[0]


def test_a_new_version_and_a_renamed_field_need_no_hand_edits(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    source, target = protos / PROTO_PACKAGE_DIR / "v1beta2", protos / PROTO_PACKAGE_DIR / "v1beta9"
    target.mkdir()
    for path in source.iterdir():
        text = path.read_text().replace("v1beta2", "v1beta9")
        if path.name == "text_service.proto":  # EmbedTextRequest.text becomes `words`
            old = "  string text = 2 [(google.api.field_behavior) = REQUIRED];\n}\n\n// The resp"
            assert old in text
            text = text.replace(old, old.replace("string text", "string words"))
        (target / path.name).write_text(text)
    tree = build(Layout(protos=protos, package=tmp_path / "out"), [render_required_fields])
    namespace: dict[str, Any] = {}
    exec(compile(tree.files[OUTPUT], OUTPUT, "exec"), namespace)
    rows = namespace["REQUIRED_FIELDS"]
    old, new = "google.ai.generativelanguage.v1beta2.", "google.ai.generativelanguage.v1beta9."
    assert rows[new + "EmbedTextRequest"] == ("model", "words")
    assert rows[old + "EmbedTextRequest"] == ("model", "text")
    assert rows[new + "GenerateTextRequest"] == rows[old + "GenerateTextRequest"]
    assert {k.removeprefix(new) for k in rows if k.startswith(new)} == {
        k.removeprefix(old) for k in rows if k.startswith(old)
    }
