"""Field roles (codegen/roles.py): embed_content's options found by number and type, the name
only as a fallback; a field that would silently lose its role stops generation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen.errors import CodegenError
from codegen.golden import FIXTURE_PROTOS
from codegen.model import Field, Kind, Message
from codegen.names import python_field_name
from codegen.paths import REPO_ROOT
from codegen.roles import OUTPUT_DIMENSIONALITY, ROLES, TASK_TYPE, TITLE, resolve

PKG = "test.roles.v1"


def f(name: str, number: int, kind: Kind, **kw: Any) -> Field:
    return Field(name=name, python_name=python_field_name(name), number=number, kind=kind, **kw)


def request(*fields: Field) -> Message:
    base = (f("model", 1, Kind.STRING), f("content", 2, Kind.MESSAGE, type_name=f"{PKG}.Content"))
    return Message(
        full_name=f"{PKG}.EmbedContentRequest",
        python_name="EmbedContentRequest",
        package=PKG,
        fields=(*base, *fields),
    )


TASK = f("task_type", 3, Kind.ENUM, type_name=f"{PKG}.TaskType", proto3_optional=True)


def names(message: Message) -> dict[str, str]:
    return {role: field.name for role, field in resolve(message).items()}


def test_todays_request_has_every_role_under_its_own_name() -> None:
    today = request(TASK, f("title", 4, Kind.STRING), f("output_dimensionality", 5, Kind.INT32))
    assert names(today) == {r.name: r.name for r in ROLES}
    assert (TASK_TYPE.number, TITLE.number, OUTPUT_DIMENSIONALITY.number) == (3, 4, 5)


def test_a_renamed_field_keeps_its_role_by_number() -> None:
    renamed = request(
        f("purpose", 3, Kind.ENUM, type_name=f"{PKG}.TaskType"),
        f("document_title", 4, Kind.STRING, deprecated=True),
        f("dimensions", 5, Kind.UINT32),
    )
    assert names(renamed) == {
        "task_type": "purpose",
        "title": "document_title",
        "output_dimensionality": "dimensions",
    }


def test_a_moved_field_keeps_its_role_by_name_and_the_number_wins_over_the_name() -> None:
    moved = request(TASK, f("title", 9, Kind.STRING))
    assert names(moved) == {"task_type": "task_type", "title": "title"}
    both = request(f("heading", 4, Kind.STRING), f("title", 9, Kind.STRING))
    assert names(both) == {"title": "heading"}


def test_a_request_without_a_roles_field_has_no_such_role() -> None:
    assert names(request(TASK)) == {"task_type": "task_type"}
    assert names(request()) == {}


@pytest.mark.parametrize(
    ("changed", "words"),
    [
        # the number kept, the type changed: field 4 is not a title any more
        (f("title", 4, Kind.INT32), "EmbedContentRequest.title (field 4, int32) has the name "
         "and number of the 'title' role"),
        # renumbered and retyped
        (f("title", 7, Kind.BOOL), "EmbedContentRequest.title (field 7, bool) has the name of"),
        # field 4 given to another field, and no `title` anywhere
        (f("priority", 4, Kind.INT64), "EmbedContentRequest.priority (field 4, int64) has the "
         "number of the 'title' role"),
        # a title field that became repeated
        (f("title", 4, Kind.STRING, repeated=True), "(field 4, repeated string)"),
    ],
)  # fmt: skip
def test_a_field_that_would_drop_its_role_is_an_error_naming_field_and_role(
    changed: Field, words: str
) -> None:
    with pytest.raises(CodegenError) as raised:
        resolve(request(TASK, changed))
    message = str(raised.value)
    assert words in message
    assert "'title' role (field 4, a singular string field" in message
    assert "codegen/roles.py" in message


@pytest.mark.subprocess
def test_make_generate_fails_on_a_dropped_role(tmp_path: Path) -> None:
    """``python -m codegen generate`` (what ``make generate`` runs) exits non-zero, naming the
    field and the role, when a proto update changes a role's field's type."""
    protos = tmp_path / "protos"
    source = FIXTURE_PROTOS / "fixtures" / "renamed_options"
    shutil.copytree(source, protos / "fixtures" / "renamed_options")
    proto = protos / "fixtures" / "renamed_options" / "generative_service.proto"
    text = proto.read_text()
    changed = text.replace(
        "optional string document_title = 4", "optional int32 document_title = 4"
    )
    assert changed != text
    proto.write_text(changed)
    package = tmp_path / "src" / "textservice"
    package.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "generate", "--protos", str(protos),
         "--package", str(package)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "EmbedContentRequest.document_title (field 4, int32)" in done.stderr, done.stderr
    assert "'title' role" in done.stderr
    assert not (package / "renamed_options").exists()  # nothing written
