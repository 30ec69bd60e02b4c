"""``textservice embed`` with Parquet input (``--text-column``, ``--id-column``) and output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import MODEL, run_cli

from textservice.testing import expected_embedding

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.subprocess


def docs(
    path: Path, bodies: Sequence[str | None], keys: Sequence[str | None] | None = None
) -> Path:
    columns = {"body": pa.array(bodies, pa.string()), "lang": ["en"] * len(bodies)}
    if keys is not None:
        columns["doc_id"] = pa.array(keys, pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_in_parquet_out_keeps_ids_and_order(tmp_path: Path) -> None:
    bodies = [f"body {i}" for i in range(250)]
    keys = [f"key-{i:03d}" for i in range(250)]
    source = docs(tmp_path / "docs.parquet", bodies, keys)
    out = tmp_path / "vectors.parquet"
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli([*args, "--text-column", "body", "--id-column", "doc_id"])
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == keys
    assert table.column("embedding").to_pylist() == [expected_embedding(MODEL, b) for b in bodies]
    # no id column: the row numbers, as for text lines; .npy rows follow the input's rows
    npy = tmp_path / "vectors.npy"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(npy),
                    "--text-column", "body"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert np.load(npy).tolist() == [expected_embedding(MODEL, b) for b in bodies]


def test_bad_parquet_rows_are_listed_by_row_number(tmp_path: Path) -> None:
    source = docs(tmp_path / "d.parquet", ["a", None, "  ", "d", "e"], ["1", "2", "3", "1", None])
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "--text-column", "body",
            "--id-column", "doc_id", "-o", str(tmp_path / "o.jsonl")]  # fmt: skip
    done = run_cli(args)
    assert done.returncode == 3
    assert done.stderr.splitlines()[:4] == [
        f'{source}:2: null "body"',
        f'{source}:3: empty "body"',
        f'{source}:4: duplicate id "1" (first on line 1)',
        f'{source}:5: null "doc_id"',
    ]
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--text-column", "nope"],
            "has no column 'nope' (--text-column; its columns: body, lang)",
        ),
        (["--text-column", "body", "--id-column", "lang2"], "has no column 'lang2'"),
        (["--format", "parquet", "--text-column", "body"], None),
    ],
)
def test_a_missing_column_is_a_usage_error(
    tmp_path: Path, extra: list[str], message: str | None
) -> None:
    source = docs(tmp_path / "d.parquet", ["a"])
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), *extra])
    if message is None:
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 2
    assert message in done.stderr


def test_a_file_that_is_not_parquet_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "d.parquet"
    source.write_text("hello\n")
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source)])
    assert done.returncode == 2
    assert "is not a readable Parquet file" in done.stderr


def test_ids_of_two_types_cannot_go_to_parquet(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "a"}\n{"id": "x", "text": "b"}\n')
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o",
                    str(tmp_path / "o.parquet")])  # fmt: skip
    assert done.returncode == 2
    assert "mix integers and strings" in done.stderr
    assert list(tmp_path.glob("o.parquet*")) == []


def test_ids_outside_int64_are_refused_for_parquet_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    # Issue 18, item 5: pyarrow's OverflowError came after every call was paid for.
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "a", "id": 1}\n{"text": "b", "id": 18446744073709551617}\n')
    out = tmp_path / "o.parquet"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 2, done.stderr
    assert "the id on line 2 of the input is an integer outside int64" in done.stderr
    assert "nothing was sent" in done.stderr
    assert list(tmp_path.glob("o.parquet*")) == []
    jsonl = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out) + ".jsonl"])
    assert jsonl.returncode == 0, jsonl.stderr  # JSON numbers have no such limit


def test_dictionary_encoded_columns_as_pandas_writes_categoricals_are_read(
    tmp_path: Path,
) -> None:
    pd = pytest.importorskip("pandas")
    bodies = [f"body {i % 7}" for i in range(40)]  # repeated values: what categoricals are for
    columns = {
        "body": bodies,
        "doc_id": [f"key-{i:02d}" for i in range(40)],
        "title": [None if i % 3 else f"title {i % 5}" for i in range(40)],
    }
    plain, categorical = tmp_path / "plain.parquet", tmp_path / "categorical.parquet"
    pd.DataFrame(columns).to_parquet(plain)
    pd.DataFrame({k: pd.Categorical(v) for k, v in columns.items()}).to_parquet(categorical)
    schema = pq.read_schema(categorical)
    assert all(pa.types.is_dictionary(schema.field(k).type) for k in columns)

    def embed(source: Path) -> object:
        out = source.with_suffix(".out.parquet")
        done = run_cli(["embed", "--fake", "-i", str(source), "-o", str(out),
                        "--text-column", "body", "--id-column", "doc_id",
                        "--title-column", "title"])  # fmt: skip
        assert done.returncode == 0, done.stderr
        return pq.read_table(out).to_pylist()

    assert embed(categorical) == embed(plain)
