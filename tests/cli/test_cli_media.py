"""``textservice embed`` with media files (gemini-embedding-2, the default) against the fake:
a folder, JSONL ``"file"`` keys, a Parquet ``--file-column``, resume digests over file
bytes, and instructions for ``--task-type``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.cli_helpers import run_cli

from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import Record
from textservice.cli.sources import FolderSource
from textservice.testing import FakeServer
from textservice.testing.vectors import expected_parts_embedding

TWO = "models/gemini-embedding-2"
KEY_ENV = {"GOOGLE_API_KEY": "media-key"}


def _png(seed: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes([seed % 256]) * 300 + seed.to_bytes(4, "little")


def _tree(root: Path) -> dict[str, bytes]:
    """A folder of images, a PDF and a subfolder; what each relative path holds."""
    files = {
        "b.png": _png(2),
        "a.jpg": b"\xff\xd8\xff" + b"j" * 200,
        "docs/paper.pdf": b"%PDF-1.7\n" + b"p" * 300,
        "docs/z/deep.png": _png(3),
        "c.PNG": _png(4),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".pdf": "application/pdf"}


def _expected(name: str, data: bytes) -> list[float]:
    return expected_parts_embedding(TWO, [(_MIME[Path(name).suffix.lower()], data)])


def _results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_walk_order_and_ids_are_sorted_relative_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / ".hidden.png").write_bytes(_png(9))
    source = FolderSource(str(tmp_path))
    check = source.check(lambda bad: None)
    ids = [r.id for r in source.records(check)]
    assert ids == ["a.jpg", "b.png", "c.PNG", "docs/paper.pdf", "docs/z/deep.png"]


def test_the_digest_covers_a_files_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(_png(1))
    record = Record(1, "x.png", "", file=path)
    settings = VectorSettings(TWO, service="generative")
    first = DigestChain(settings).add(record)
    path.write_bytes(_png(2))
    assert DigestChain(settings).add(record) != first
    assert DigestChain(settings).add(Record(1, "x.png", "")) != first  # a text is not a file


@pytest.mark.subprocess
def test_a_folder_embeds_every_media_file_in_order(tmp_path: Path) -> None:
    files = _tree(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("not media")
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-i", str(tmp_path / "in"), "-o", str(out)]
    done = run_cli(args)
    assert done.returncode == 3, done.stderr  # the .txt is a bad record
    assert "notes.txt: unsupported file type ('.txt'" in done.stderr
    assert not out.exists()
    done = run_cli([*args, "--skip-bad"])
    assert done.returncode == 0, done.stderr
    results = _results(out)
    assert [r["id"] for r in results] == sorted(files, key=lambda n: n.split("/"))
    for result in results:
        assert result["embedding"] == _expected(result["id"], files[result["id"]])
    # unchanged: nothing to do; a changed image is noticed (its bytes are in its content
    # key), and only it is embedded again: the others' vectors are reused
    assert run_cli([*args, "--skip-bad"]).returncode == 0
    files["b.png"] = _png(7)
    (tmp_path / "in" / "b.png").write_bytes(files["b.png"])
    again = run_cli([*args, "--skip-bad"])
    assert again.returncode == 0, again.stderr
    assert "reusing 4 of them, embedding 1 text, dropping 1" in again.stderr
    for result in _results(out):
        assert result["embedding"] == _expected(result["id"], files[result["id"]])


@pytest.mark.subprocess
@pytest.mark.network
def test_jsonl_files_and_texts_with_a_task_type_send_instructions(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "cat.png").write_bytes(_png(5))
    source = tmp_path / "list.jsonl"
    source.write_text(
        json.dumps({"id": "cat", "file": "img/cat.png"})
        + "\n"
        + json.dumps({"id": "q", "text": "a cat"})
        + "\n"
        + json.dumps({"id": "both", "text": "x", "file": "img/cat.png"})
        + "\n"
    )
    fake = FakeServer(api_key="media-key", strict_models=True)
    out = tmp_path / "out.jsonl"
    with fake.serve() as address:
        args = ["embed", "--endpoint", address.target, "--insecure", "-i", str(source)]
        done = run_cli([*args, "-o", str(out), "--task-type", "query", "--skip-bad"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert 'list.jsonl:3: both "text" and "file"' in done.stderr
    sent = [r for c in fake.calls if c.method == "BatchEmbedContents" for r in c.request.requests]
    assert [[p.text for p in r.content.parts] for r in sent] == [
        ["task: search result | query: ", None],
        ["task: search result | query: a cat"],
    ]
    assert all(r.task_type is None and r.title is None for r in sent)
    results = _results(out)
    assert results[1]["embedding"] == expected_parts_embedding(
        TWO, ["task: search result | query: a cat"]
    )


@pytest.mark.subprocess
def test_a_parquet_file_column(tmp_path: Path) -> None:
    files = _tree(tmp_path / "media")
    names = sorted(files)
    table = pa.table({"doc": [f"media/{n}" for n in names] + [None], "key": [*names, "none"]})
    source = tmp_path / "in.parquet"
    pq.write_table(table, source)
    out = tmp_path / "out.npy"
    args = ["embed", "--fake", "-i", str(source), "--file-column", "doc", "--id-column", "key"]
    done = run_cli([*args, "-o", str(out), "--skip-bad"])
    assert done.returncode == 0, done.stderr
    assert 'null "doc"' in done.stderr
    rows = np.load(out)
    assert rows.shape == (len(names) + 1, 3072)
    for i, name in enumerate(names):
        assert np.array_equal(rows[i], np.array(_expected(name, files[name]), dtype=np.float32))


@pytest.mark.subprocess
def test_media_for_a_text_only_model_is_a_usage_error(tmp_path: Path) -> None:
    _tree(tmp_path / "in")
    done = run_cli(
        ["embed", "--fake", "-m", "models/gemini-embedding-001", "-i", str(tmp_path / "in")]
    )
    assert done.returncode == 2
    assert "embeds text only (use -m models/gemini-embedding-2)" in done.stderr


def test_a_folder_is_walked_as_records_are_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("a", "b", "c"):
        for i in range(3):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / f"{i}.png").write_bytes(_png(i))
    source = FolderSource(str(tmp_path))
    check = source.check(lambda bad: None)
    assert check.record_count == 9 and check.files == 9
    listed: list[str] = []
    scandir = os.scandir

    def counted(path: Any) -> Any:
        listed.append(Path(path).name)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    records = source.records(check)
    first = next(records)
    assert first.id == "a/0.png" and first.file == tmp_path / "a" / "0.png"
    assert listed == [tmp_path.name, "a"]  # b and c not listed yet: one folder at a time
    assert [r.id for r in records][-1] == "c/2.png"
