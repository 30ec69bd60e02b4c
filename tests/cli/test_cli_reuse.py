"""``textservice embed`` on a changed input: only what changed is sent (content keys).

The fake serves 8-dimensional vectors on a TCP port, so its request
log shows exactly which texts a rerun sends; "the same output as a clean run" is checked
against a clean run of the changed input, byte for byte (Parquet: value for value).
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.cli_helpers import (
    MODEL,
    read_jsonl,
    run_cli,
    texts_embedded,
    write_lines,
)

from textservice.cli.content_keys import KEY_SIZE, ContentKeys
from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import Record
from textservice.cli.reuse import Reuse, ReuseIndex
from textservice.testing import FakeServer, ServerAddress

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

DIM = 8
KEY_ENV = {"GOOGLE_API_KEY": "reuse-key"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="reuse-key", embedding_dimension=DIM, log_limit=None)
    with fake.serve() as address:
        yield fake, address


def embed_args(address: ServerAddress, source: Path, out: Path) -> list[str]:
    return [
        "embed", "-m", MODEL, "-i", str(source), "-o", str(out),
        "--endpoint", address.target, "--insecure",
    ]  # fmt: skip


def same_output(out: Path, clean: Path) -> None:
    """``out`` holds what a clean run wrote to ``clean`` (and so do their ids files)."""
    if out.suffix == ".parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(out).equals(pq.read_table(clean))
        return
    assert out.read_bytes() == clean.read_bytes()
    if out.suffix == ".npy":
        ids = out.with_name(out.name + ".ids.jsonl")
        assert ids.read_bytes() == clean.with_name(clean.name + ".ids.jsonl").read_bytes()


def edited(lines: list[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """``lines`` with ``share`` of them edited, as many inserted and as many deleted (at
    random places); and the new texts (edited and inserted)."""
    rng = random.Random(seed)
    count = int(len(lines) * share)
    chosen = rng.sample(range(len(lines)), 2 * count)
    edit, delete = set(chosen[:count]), set(chosen[count:])
    new_texts = []
    out: list[str] = []
    for i, line in enumerate(lines):
        if i in delete:
            continue
        if i in edit:
            line = f"edited {i}: {line}"
            new_texts.append(line)
        out.append(line)
    for n in range(count):
        text = f"inserted {n}: a new line"
        out.insert(rng.randrange(len(out) + 1), text)
        new_texts.append(text)
    return out, new_texts


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "count"),
    # one format at the corpus size issue 20 names; the others at 10,000 (100 edits, 100
    # inserts, 100 deletes: every path of the reuse, in a quarter of the time)
    [("out.jsonl", 10_000), ("out.npy", 10_000), ("out.parquet", 100_000)],
)
def test_lines_with_1_percent_edited_inserted_and_deleted_send_only_the_changes(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str, count: int
) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    fake, address = served
    lines = [
        f"document {i}: the quick brown fox {i * 7 % 13} jumps over {i % 97}" for i in range(count)
    ]
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / name
    done = run_cli(embed_args(address, source, out), env=KEY_ENV)
    assert done.returncode == 0, done.stderr

    changed, new_texts = edited(lines, 0.01, seed=20)
    write_lines(source, changed)
    fake.log.clear()
    done = run_cli([*embed_args(address, source, out), "--progress"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert Counter(texts_embedded(fake)) == Counter(new_texts)  # exactly the changed texts
    kept, changes = count * 98 // 100, count // 100 * 2
    assert f"reusing {kept:,} of them, embedding {changes:,} texts, dropping {changes:,}" in (
        done.stderr
    )
    assert f"reused {kept}, embedded {changes}, dropped {changes}" in done.stderr

    clean = tmp_path / ("clean" + out.suffix)
    assert run_cli(embed_args(address, source, clean), env=KEY_ENV).returncode == 0
    same_output(out, clean)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.endswith((".part", ".reuse"))
    )


@pytest.mark.parametrize("name", ["out.jsonl", "out.npy", "out.parquet"])
def test_duplicated_texts_share_a_key_and_standard_input_is_reused_from(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str
) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    fake, address = served
    lines = [f"line {i % 40}" for i in range(300)]  # every text 7 or 8 times
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / name
    args = ["embed", "-m", MODEL, "-i", "-", "-o", str(out), "--endpoint", address.target,
            "--insecure"]  # fmt: skip
    assert run_cli(args, stdin=source.read_bytes(), env=KEY_ENV).returncode == 0
    changed = ["a new first line", *lines[:150], *lines[151:], "line 3"]  # a copy of a text
    write_lines(source, changed)
    fake.log.clear()
    done = run_cli(args, stdin=source.read_bytes(), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert texts_embedded(fake) == ["a new first line"]  # duplicates of old texts: reused
    clean = tmp_path / ("clean" + out.suffix)
    assert run_cli(embed_args(address, source, clean), env=KEY_ENV).returncode == 0
    same_output(out, clean)


def test_an_interrupted_reuse_run_resumes_and_still_reuses(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    # A run that reuses writes an ordinary .part: stopped, its rerun resumes it exactly and
    # reuses from the finished output for the rest, so nothing is embedded twice.
    fake, address = served
    lines = [f"text {i}" for i in range(500)]
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.jsonl"
    assert run_cli(embed_args(address, source, out), env=KEY_ENV).returncode == 0
    finished = out.read_bytes()
    lines[0] = "changed first"
    lines[499] = "changed last"
    write_lines(source, lines)
    clean = tmp_path / "clean.jsonl"
    assert run_cli(embed_args(address, source, clean), env=KEY_ENV).returncode == 0
    # what a reuse run stopped after 200 results leaves: its .part, the output untouched
    part = tmp_path / "out.jsonl.part"
    part.write_bytes(b"".join(clean.read_bytes().splitlines(keepends=True)[:200]))
    fake.log.clear()
    done = run_cli(embed_args(address, source, out), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert texts_embedded(fake) == ["changed last"]  # "changed first" is in the .part
    assert "earlier results are reused for the texts left: reusing 299 of them" in done.stderr
    assert out.read_bytes() == clean.read_bytes() != finished


def test_the_index_of_a_million_results_fits_in_100_mib() -> None:
    # 1M keys as one earlier output holds them; the plan for an input of 1M lines.
    keys = ContentKeys(VectorSettings(MODEL))
    count = 1_000_000

    class Million:
        where = Path("million")

        def keys(self) -> tuple[bytes, array[int]]:
            rng = np.random.default_rng(5)
            packed = rng.integers(0, 256, size=(count, KEY_SIZE), dtype=np.uint8)
            packed[:, :4] = np.frombuffer(keys.tag, dtype=np.uint8)
            return packed.tobytes(), array("q", range(count))

        def read(self, rows: Sequence[int]) -> Any:
            raise AssertionError("not read")

        def close(self) -> None:
            pass

        def moved(self, old: Path, new: Path) -> None:
            pass

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    index = ReuseIndex([Million()], keys.tag)
    seconds = time.perf_counter() - started
    assert len(index) == count and index.total == count and index.other_settings == 0
    mib = index.nbytes() / 2**20
    assert mib <= 100, mib  # 26 MiB: 16 bytes of key, 8 of row and 2 of source each
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"1M-result index: {mib:.1f} MiB of arrays, peak RSS +{grown:.0f} MiB, {seconds:.2f} s")
    if sys.platform == "linux":  # ru_maxrss in KiB: building it never held much more
        assert grown < 150, grown
    # looking 1,000 of them up, and one that is not there
    found = index.find(index.keys[:1000])
    assert (found == np.arange(1000)).all()
    missing = np.array([keys.tag + b"\0" * 12], dtype=f"S{KEY_SIZE}")
    assert index.find(missing).tolist() == [-1]


def test_a_plan_counts_reused_embedded_and_dropped() -> None:
    keys = ContentKeys(VectorSettings(MODEL))
    old = [Record(i + 1, i + 1, f"text {i}") for i in range(10)]

    class Earlier:
        where = Path("earlier")

        def keys(self) -> tuple[bytes, array[int]]:
            return b"".join(keys.key(r) for r in old), array("q", range(10))

        def read(self, rows: Sequence[int]) -> Any:
            return rows

        def close(self) -> None:
            pass

        def moved(self, old: Path, new: Path) -> None:
            pass

    new = [*old[:3], Record(4, 4, "new"), *old[5:], Record(11, 11, "text 0")]  # 3 and 4 gone
    plan = Reuse.plan([Earlier()], keys, iter(new), 11, done=2)
    assert (plan.reused, plan.embedded, plan.dropped) == (7, 1, 2)
    assert plan.entries[11] == plan.entries[1] >= 0  # the repeated text: the same vector
    other = ContentKeys(VectorSettings(MODEL, task_type="CLUSTERING"))
    plan = Reuse.plan([Earlier()], other, iter(new), 11)
    assert plan.index.other_settings == 10 and plan.reused == 0


def test_a_key_names_the_item_and_settings_not_the_id_or_line(tmp_path: Path) -> None:
    settings = VectorSettings(MODEL)
    keys = ContentKeys(settings)
    key = keys.key(Record(1, 1, "text"))
    assert len(key) == KEY_SIZE and key[:4] == keys.tag
    assert keys.key(Record(9, "doc-9", "text")) == key  # moved, renamed: the same item
    others = [
        keys.key(Record(1, 1, "text", title="a title")),
        keys.key(Record(1, 1, "text ")),
        ContentKeys(VectorSettings(MODEL, output_dimensionality=128)).key(Record(1, 1, "text")),
        ContentKeys(VectorSettings(MODEL, server="fake")).key(Record(1, 1, "text")),
    ]
    assert len({key, *others}) == 5
    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG one")
    first = keys.key(Record(1, "x.png", "", file=image))
    image.write_bytes(b"\x89PNG two")
    assert keys.key(Record(1, "x.png", "", file=image)) != first != keys.key(Record(1, 1, ""))


def test_a_media_file_is_read_once_for_its_digest_and_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textservice.cli import content_keys, digests
    from textservice.cli.files import file_digest as real

    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG data")
    read: list[Path] = []

    def counted(path: Path) -> str:
        read.append(path)
        return real(path)

    monkeypatch.setattr(content_keys, "file_digest", counted)
    monkeypatch.setattr(digests, "file_digest", counted)
    settings = VectorSettings("models/gemini-embedding-2", service="generative")
    record = Record(1, "x.png", "", file=image)
    digest, key = ContentKeys(settings).add(DigestChain(settings), record)
    assert read == [image]
    assert digest == DigestChain(settings).add(record)  # the same digest as reading it again
    assert key == ContentKeys(settings).hexkey(record)


def test_npy_keeps_string_ids_and_overwrite_still_embeds_everything(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = tmp_path / "in.jsonl"
    rows = [{"id": f"doc-{i}", "text": f"text {i}"} for i in range(5)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.npy"
    assert run_cli(embed_args(address, source, out), env=KEY_ENV).returncode == 0
    ids = read_jsonl(tmp_path / "out.npy.ids.jsonl")
    assert [(r["row"], r["id"]) for r in ids] == [(i, f"doc-{i}") for i in range(5)]
    rows[2]["text"] = "changed"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fake.log.clear()
    done = run_cli([*embed_args(address, source, out), "--overwrite"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert sorted(texts_embedded(fake)) == sorted(r["text"] for r in rows)  # all of them
    assert "reusing" not in done.stderr


@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet"])
def test_kept_columns_are_the_new_inputs_and_do_not_stop_reuse(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str
) -> None:
    # A kept value may hold anything, a "key" of its own included: the reader takes the
    # key written just before the embedding.
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    fake, address = served
    source = tmp_path / "in.jsonl"

    def write(rows: list[dict[str, object]]) -> None:
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))

    rows: list[dict[str, object]] = [
        {"id": i, "text": f"text {i}", "tag": f"t{i}", "meta": {"key": "0" * 32}} for i in range(6)
    ]
    write(rows)
    out = tmp_path / name
    keep = ["--keep-columns", "tag,meta" if name.endswith(".jsonl") else "tag"]
    args = [*embed_args(address, source, out), *keep]
    assert run_cli(args, env=KEY_ENV).returncode == 0
    rows[1]["tag"] = "retagged"  # a kept value: the vector stays
    rows[4]["text"] = "changed"
    write(rows)
    fake.log.clear()
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert texts_embedded(fake) == ["changed"]
    clean = tmp_path / ("clean" + out.suffix)
    assert run_cli([*embed_args(address, source, clean), *keep], env=KEY_ENV).returncode == 0
    same_output(out, clean)
