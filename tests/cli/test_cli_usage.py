"""``textservice embed`` usage errors found before anything is read or sent: an output suffix
it does not write, and (from the server) a model it does not serve."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.cli_helpers import MODEL, read_jsonl, run_cli

from textservice._engine.output_formats import check_output
from textservice._numpy import NumpyMissingError, require_numpy
from textservice.cli.exit_codes import ExitCode, describe, exit_code_for
from textservice.cli.writers.common import NEEDS_NUMPY, output_kind

pytestmark = pytest.mark.subprocess


@pytest.mark.parametrize("name", ["out.npz", "out.csv", "out.json", "out"])
def test_an_output_suffix_it_does_not_write_is_a_usage_error(tmp_path: Path, name: str) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\n")
    out = tmp_path / name
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 2, done.stderr
    assert "Invalid value for --output" in done.stderr
    assert "the name must end in .jsonl, .ndjson, .npy, .parquet" in done.stderr
    assert not out.exists() and not Path(f"{out}.part").exists()


def test_ndjson_and_any_case_are_jsonl(tmp_path: Path) -> None:
    assert output_kind("a.NDJSON") == "jsonl" and output_kind("b.Parquet") == "parquet"
    source = tmp_path / "in.txt"
    source.write_text("one\ntwo\n")
    out = tmp_path / "out.ndjson"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in read_jsonl(out)] == [1, 2]


def test_a_model_the_server_does_not_serve_exits_2_with_a_hint(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\n")
    out = tmp_path / "out.jsonl"
    done = run_cli(
        ["embed", "--fake", "-m", "models/no-such-model", "-i", str(source), "-o", str(out)]
    )
    assert done.returncode == 2, done.stderr
    assert "NOT_FOUND: models/no-such-model" in done.stderr
    assert "'textservice models' lists the models your key can use" in done.stderr
    assert not out.exists()


def test_one_numpy_check_names_what_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # the library's output="numpy" and the CLI's file outputs share one check and one error
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(NumpyMissingError, match=r"^output='numpy' needs numpy: pip install numpy$"):
        check_output("numpy")
    with pytest.raises(NumpyMissingError) as info:
        require_numpy(*NEEDS_NUMPY)
    message = "writing .npy or .parquet needs numpy: pip install numpy (or write JSONL: an output"
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ImportError)
    assert exit_code_for(info.value) is ExitCode.USAGE
    assert describe(info.value) == str(info.value)  # shown as it is, like the CLI's own errors
