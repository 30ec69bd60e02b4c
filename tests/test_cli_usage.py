"""``textservice embed`` usage errors found before anything is read or sent: an output suffix
it does not write, and (from the server) a model it does not serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli_helpers import MODEL, read_jsonl, run_cli

from textservice.cli.writers.jsonl import output_kind

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
