"""The committed list of the facades' public signatures (codegen/public_api.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from codegen import cli, public_api
from codegen.facade import render_facade
from codegen.golden import FIXTURE_PROTOS, FIXTURES
from codegen.headers import is_generated
from codegen.paths import API_LIST, REPO_ROOT, Layout
from codegen.pipeline import build

SOURCE = """
from typing import overload

__all__ = ["one", "two", "three", "four"]


@overload
def one(a: int) -> int: ...


@overload
def one(a: str) -> str: ...


def one(a, b=1, *, c, d="x"):
    pass


async def two(a, /, b, *args, e=None, **kwargs):
    pass


def three():
    pass


def _private(a):
    pass


def not_exported(a):
    pass


class four:
    pass
"""


def test_signatures_are_read_from_the_source() -> None:
    found = public_api.module_signatures("textservice.v9", SOURCE)
    assert [s.line for s in found] == [
        "textservice.v9.one(a, b=1, *, c, d='x')",  # the implementation, not the overloads
        "async textservice.v9.two(a, /, b, *args, e=None, **kwargs)",
        "textservice.v9.three()",
    ]
    assert [s.key for s in found] == [f"textservice.v9.{n}" for n in ("one", "two", "three")]


def test_changes_additions_and_the_list_text() -> None:
    accepted = public_api.parse(
        "# comment\n\ntextservice.v9.one(a, b=1)\nasync textservice.v9.gone(x)\n"
        "textservice.v9.same()\n"
    )
    assert accepted == {
        "textservice.v9.one": "textservice.v9.one(a, b=1)",
        "textservice.v9.gone": "async textservice.v9.gone(x)",
        "textservice.v9.same": "textservice.v9.same()",
    }
    found = [
        public_api.Signature("textservice.v9", "one", "textservice.v9.one(a, c=1)"),
        public_api.Signature("textservice.v9", "same", "textservice.v9.same()"),
        public_api.Signature("textservice.v9", "new", "textservice.v9.new(z)"),
    ]
    changes = public_api.changes(accepted, found)
    assert changes.added == ("textservice.v9.new(z)",)
    assert changes.changed == (("textservice.v9.one(a, b=1)", "textservice.v9.one(a, c=1)"),)
    assert changes.removed == ("async textservice.v9.gone(x)",)
    assert changes.breaking
    # `make generate` adds the new function only: the changed and removed lines stay
    kept = public_api.parse(public_api.with_additions(accepted, found))
    assert kept == {**accepted, "textservice.v9.new": "textservice.v9.new(z)"}
    assert not public_api.changes(public_api.parse(public_api.render(found)), found).breaking
    diff = public_api.diff(accepted, found, "public_api.txt")
    assert "-textservice.v9.one(a, b=1)\n" in diff and "+textservice.v9.one(a, c=1)\n" in diff
    assert "-async textservice.v9.gone(x)\n" in diff and "+textservice.v9.new(z)\n" in diff


def test_the_committed_list_is_the_generated_api() -> None:
    accepted = public_api.read_list(API_LIST)
    assert "textservice.v1beta.generate_embeddings" in accepted
    assert accepted["textservice.v1beta.count_text_tokens"] == (
        "textservice.v1beta.count_text_tokens(model, prompt, client=None, request_options=None)"
    )
    package = REPO_ROOT / "src" / "textservice"
    versions = sorted(  # the generated facades on disk
        p.parent.name
        for p in package.glob("v*/__init__.py")  # _proto/ is generated too, with no facade
        if is_generated(p.read_text())
    )
    assert {"v1", "v1beta", "v1beta2", "v1beta3"} <= set(versions)
    files = {
        str(p.relative_to(package)): p.read_text()
        for version in versions
        for p in (package / version).glob("*.py")
    }
    modules = public_api.facade_modules(files)
    # every service module of every version, and nothing else (not the index, not types)
    assert sorted(modules) == sorted(
        rel
        for rel in files
        if rel.split("/")[1].startswith("_") and not rel.endswith("__init__.py")
    )
    assert {rel.split("/")[0] for rel in modules} == set(versions)
    found = public_api.signatures(files)
    assert public_api.diff(accepted, found, "public_api.txt") == []


def _fixture_copy(tmp_path: Path) -> Path:
    protos = tmp_path / "protos"
    shutil.copytree(FIXTURE_PROTOS / FIXTURES, protos / FIXTURES)
    return protos


def _rename_temperature(protos: Path) -> None:
    source = protos / "fixtures" / "optional_scalars" / "text_service.proto"
    text = source.read_text()
    assert "optional float temperature = 3" in text
    source.write_text(
        text.replace("optional float temperature = 3", "optional float heat = 3").replace(
            "model,prompt,temperature,", "model,prompt,heat,"
        )
    )


@pytest.mark.subprocess
def test_a_renamed_request_field_in_a_fixture_is_caught(tmp_path: Path) -> None:
    protos = _fixture_copy(tmp_path)
    layout = Layout(protos=protos, package=tmp_path / "out")
    before = public_api.signatures(build(layout, [render_facade]).files)
    _rename_temperature(protos)
    after = public_api.signatures(build(layout, [render_facade]).files)
    changes = public_api.changes({s.key: s.line for s in before}, after)
    assert changes.added == () and changes.removed == ()
    assert {old.split("(")[0] for old, _ in changes.changed} == {
        "textservice.optional_scalars.generate_text",
        "async textservice.optional_scalars.generate_text_async",
    }
    old, new = changes.changed[0]
    assert "temperature=None" in old and "heat=None" in new and "temperature" not in new


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("case", "proto", "old", "new", "functions"),
    [
        # a plain function (a new unary RPC): its keyword is the request field's name
        (
            "renamed_rpcs",
            "text_service.proto",
            "string note = 1",
            "string message = 1",
            {"ping", "retired"},
        ),
        # embed_content's keywords come from EmbedContentRequest's fields
        (
            "content_rpcs",
            "generative_service.proto",
            "optional int32 output_dimensionality = 5",
            "optional int32 output_dims = 5",
            {"embed_content", "iter_embed_content"},
        ),
    ],
)
def test_a_renamed_field_of_a_new_shape_is_caught(
    tmp_path: Path, case: str, proto: str, old: str, new: str, functions: set[str]
) -> None:
    protos = _fixture_copy(tmp_path)
    layout = Layout(protos=protos, package=tmp_path / "out")
    before = public_api.signatures(build(layout, [render_facade]).files)
    source = protos / "fixtures" / case / proto
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new))
    after = public_api.signatures(build(layout, [render_facade]).files)
    changes = public_api.changes({s.key: s.line for s in before}, after)
    assert changes.added == () and changes.removed == ()
    changed = {line.removeprefix("async ").split("(")[0] for line, _ in changes.changed}
    module = f"textservice.{case}."
    assert changed == {f"{module}{f}{twin}" for f in functions for twin in ("", "_async")}
    old_name, new_name = old.split()[-3], new.split()[-3]
    for accepted, generated in changes.changed:
        assert old_name in accepted and old_name not in generated and new_name in generated


def _codegen(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m codegen ARGS`` run in this process (its ``main``, which ``__main__`` exits
    with): its exit code and what it printed. protoc and ruff run in processes of their own."""
    capsys.readouterr()
    code = cli.main(list(args))
    printed = capsys.readouterr()
    return subprocess.CompletedProcess(["python", "-m", "codegen", *args], code, *printed)


@pytest.mark.subprocess
@pytest.mark.parametrize("how", ["rename", "new version"])
def test_make_generate_check_and_accept_api(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    protos = _fixture_copy(tmp_path)
    api = tmp_path / "public_api.txt"
    args = ["--protos", str(protos), "--package", str(tmp_path / "pkg"), "--api", str(api)]
    first = _codegen(capsys, "generate", *args)
    assert first.returncode == 0, first.stderr
    assert "new public functions in public_api.txt" in first.stdout  # the list starts empty
    assert "textservice.no_batch.generate_embeddings(" in api.read_text()
    assert _codegen(capsys, "check", *args).returncode == 0
    if how == "new version":  # new functions only: recorded by generate, nothing to accept
        shutil.copytree(protos / "fixtures" / "no_batch", protos / "fixtures" / "no_batch2")
        source = protos / "fixtures" / "no_batch2" / "text_service.proto"
        source.write_text(source.read_text().replace("fixtures.no_batch", "fixtures.no_batch2"))
        again = _codegen(capsys, "generate", *args)
        assert again.returncode == 0 and "warning" not in again.stderr
        assert "textservice.no_batch2.generate_embeddings(" in api.read_text()
        assert _codegen(capsys, "check", *args).returncode == 0
        return
    _rename_temperature(protos)
    again = _codegen(capsys, "generate", *args)
    assert again.returncode == 0  # the code is written; the list keeps the accepted API
    assert "warning: the public API changed (2 changed, 0 removed)" in again.stderr
    assert "temperature=None" in api.read_text()
    check = _codegen(capsys, "check", *args)
    assert check.returncode == 1
    assert "generated code is stale" not in check.stderr  # the code itself is fresh
    assert "differs from public_api.txt" in check.stderr and "make accept-api" in check.stderr
    minus = [line for line in check.stderr.splitlines() if line.startswith("  -textservice")]
    plus = [line for line in check.stderr.splitlines() if line.startswith("  +textservice")]
    assert len(minus) == len(plus) == 1  # generate_text (its async twin has its own lines)
    assert "temperature=None" in minus[0] and "heat=None" in plus[0]
    accepted = _codegen(capsys, "accept-api", *args)
    assert accepted.returncode == 0
    assert "0 added, 2 changed, 0 removed" in accepted.stdout
    assert "heat=None" in api.read_text() and "temperature" not in api.read_text()
    assert _codegen(capsys, "check", *args).returncode == 0
