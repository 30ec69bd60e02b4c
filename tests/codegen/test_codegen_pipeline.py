"""The protoc step of the generator: determinism, staleness check, clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codegen import protoc
from codegen.errors import CodegenError
from codegen.headers import MARKER
from codegen.imports import proto_imports
from codegen.outputs import build_all
from codegen.paths import REPO_ROOT, Layout
from codegen.pipeline import compare, write

V1BETA = Path("google/ai/generativelanguage/v1beta/text_service.proto")


def _codegen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def committed_tree_build() -> dict[str, str]:
    return build_all(Layout.default()).files


@pytest.mark.slow
@pytest.mark.subprocess
def test_check_passes_on_committed_tree() -> None:
    done = _codegen("check")
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


@pytest.mark.slow
@pytest.mark.subprocess
def test_check_fails_when_a_proto_comment_changes(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    source = protos / V1BETA
    text = source.read_text()
    changed = text.replace(
        "// Generates an embedding from the model given an input message.",
        "// Generates an embedding; this comment was changed by the staleness test.",
    )
    assert changed != text
    source.write_text(changed)
    done = _codegen("check", "--protos", str(protos))
    assert done.returncode == 1
    # only the changed file's services module (the comment is an RPC's) and the facade quoting
    # the comment differ: its messages, the other files of the package, its index and the
    # other versions are untouched
    assert done.stderr.splitlines()[1:] == [
        "  differs: _proto/google/ai/generativelanguage/v1beta/_text_service_grpc.py",
        "  differs: v1beta/_text_service.py",
    ]


@pytest.mark.subprocess
def test_two_runs_are_byte_identical(committed_tree_build: dict[str, str]) -> None:
    again = build_all(Layout.default()).files
    assert again == committed_tree_build


@pytest.mark.subprocess
def test_every_generated_file_has_the_header(committed_tree_build: dict[str, str]) -> None:
    assert committed_tree_build
    for rel, text in committed_tree_build.items():
        assert text.startswith(MARKER), rel
        header = text.split("# To change it", 1)[0]
        assert "DO NOT EDIT" in header
        assert "Sources:" in header
        assert str(REPO_ROOT) not in text, f"absolute path in {rel}"
        assert "/tmp" not in header


@pytest.mark.subprocess
def test_generate_cleans_stale_output(tmp_path: Path, committed_tree_build: dict[str, str]) -> None:
    package = tmp_path / "textservice"
    shutil.copytree(REPO_ROOT / "src" / "textservice", package)
    leftover = package / "_proto" / "google" / "ai" / "generativelanguage" / "v9" / "__init__.py"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("# left behind by a removed proto\n")
    from codegen.pipeline import GeneratedTree

    tree = GeneratedTree(dict(committed_tree_build))
    assert compare(tree, package) == [
        "stale (no longer generated): _proto/google/ai/generativelanguage/v9/__init__.py"
    ]
    write(tree, package)
    assert not leftover.exists()
    assert compare(tree, package) == []


@pytest.mark.subprocess
def test_protoc_error_names_file_and_line(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    source = protos / V1BETA
    lines = source.read_text().splitlines()
    lines[30] = "this is not protobuf syntax"
    source.write_text("\n".join(lines) + "\n")
    done = _codegen("check", "--protos", str(protos))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "protoc failed" in done.stderr
    assert "google/ai/generativelanguage/v1beta/text_service.proto:31:" in done.stderr


def test_missing_plugin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(protoc, "_tool_dir", lambda: tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CodegenError, match="betterproto2 protoc plugin"):
        protoc.find_plugin()


def test_missing_ruff_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(protoc, "_tool_dir", lambda: tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CodegenError, match="ruff is not installed"):
        protoc.tool_path()


@pytest.mark.subprocess
def test_missing_proto_folder_is_a_clear_error(tmp_path: Path) -> None:
    done = _codegen("check", "--protos", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "proto folder not found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.subprocess
def test_check_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    # betterproto2's plugin formats with ruff reading stdin, whose settings come from the
    # working directory: from elsewhere the output used to differ (line length 88, not 100)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.subprocess
def test_a_missing_import_names_the_file_and_the_fix(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    shutil.copytree(REPO_ROOT / "protos", protos)
    shutil.rmtree(protos / "google" / "longrunning")
    done = _codegen("check", "--protos", str(protos))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "protoc failed" not in done.stderr
    err = done.stderr
    assert (
        "google/ai/generativelanguage/v1beta/model_service.proto imports "
        "google/longrunning/operations.proto" in err
    )
    # googleapis-common-protos ships it under another name, which protoc cannot use
    assert "google/longrunning/operations_proto.proto" in err
    assert "to protos/google/longrunning/operations.proto" in err


def test_proto_imports_ignore_comments() -> None:
    text = (
        'syntax = "proto3";\n// import "commented/out.proto";\n/* import "block.proto"; */\n'
        'import "a/b.proto";\nimport public "c.proto";\n  import weak "d.proto" ;\n'
    )
    assert proto_imports(text) == ["a/b.proto", "c.proto", "d.proto"]


@pytest.mark.subprocess
def test_a_generated_file_among_hand_written_ones(
    tmp_path: Path, committed_tree_build: dict[str, str]
) -> None:
    """testing/_required_fields.py is generated; the rest of testing/ is hand-written and kept."""
    package = tmp_path / "textservice"
    shutil.copytree(REPO_ROOT / "src" / "textservice", package)
    from codegen.pipeline import GeneratedTree

    tree = GeneratedTree(dict(committed_tree_build))
    assert "testing" not in tree.roots() and "testing/_required_fields.py" in tree.loose()
    stale = package / "testing" / "_removed_table.py"
    stale.write_text(MARKER + "\nX = 1\n")
    generated = package / "testing" / "_required_fields.py"
    generated.write_text(generated.read_text() + "# edited by hand\n")
    hand_written = (package / "testing" / "validation.py").read_text()
    assert compare(tree, package) == [
        "stale (no longer generated): testing/_removed_table.py",
        "differs: testing/_required_fields.py",
    ]
    write(tree, package)
    assert not stale.exists()
    assert compare(tree, package) == []
    assert (package / "testing" / "validation.py").read_text() == hand_written
    generated.unlink()
    assert compare(tree, package) == ["missing: testing/_required_fields.py"]
