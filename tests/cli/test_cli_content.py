"""``textservice embed`` with today's models (GenerativeService) and ``textservice models``.

The fake is served on a port so each test sees the RPCs and requests the command sent; its
vectors are ``expected_content_embedding``'s (per model, text, task type, title, length).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.cli_helpers import (
    read_jsonl,
    results_in,
    run_cli,
    settle,
    stop_when,
    texts,
    write_lines,
)

from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import Record
from textservice.cli.writers.jsonl import encode_batch, encode_result
from textservice.testing import (
    FakeServer,
    ServerAddress,
    expected_content_embedding,
    expected_embedding,
)
from textservice.testing.vectors import (
    expected_parts_embedding,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"
TWO = "models/gemini-embedding-2"
KEY_ENV = {"GOOGLE_API_KEY": "content-key"}


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="content-key")
    with fake.serve() as address:
        yield fake, address


def embed_args(address: ServerAddress, *more: str, default_model: bool = False) -> list[str]:
    """The command's arguments: with ``-m models/gemini-embedding-001`` (these tests are of
    its task type and title fields) unless another model is named or ``default_model``."""
    model = [] if default_model or {"-m", "--model"} & set(more) else ["-m", GEMINI]
    return ["embed", "--endpoint", address.target, "--insecure", *model, *more]


def methods(fake: FakeServer) -> set[str]:
    return {call.method for call in fake.calls}


def content_requests(fake: FakeServer) -> list[Any]:
    """Every EmbedContentRequest of the BatchEmbedContents calls, in the order received."""
    return [r for c in fake.calls if c.method == "BatchEmbedContents" for r in c.request.requests]


def text_of(request: Any) -> str:
    return "".join(part.text for part in request.content.parts)


def as_rows(vectors: list[list[float]]) -> np.ndarray:
    return np.array(vectors, dtype=np.float32)


# -- which service -------------------------------------------------------------------------


def test_no_model_embeds_3072_dimensions_through_batch_embed_contents(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    items = texts(130)
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.npy"
    args = embed_args(address, "-i", str(source), "-o", str(out), default_model=True)
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert methods(fake) == {"BatchEmbedContents"}  # not BatchEmbedText
    assert {c.version for c in fake.calls} == {"v1beta"}
    requests = content_requests(fake)
    assert sorted(text_of(r) for r in requests) == sorted(items)
    assert {r.model for r in requests} == {TWO}  # the default model
    assert all(r.task_type is None and r.title is None for r in requests)
    assert all(r.output_dimensionality is None for r in requests)
    array = np.load(out)
    assert array.shape == (130, 3072)
    assert np.array_equal(array, as_rows([expected_parts_embedding(TWO, [t]) for t in items]))


@pytest.mark.parametrize("model", [GECKO, "embedding-gecko-001"])
def test_a_gecko_model_still_goes_through_text_service(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], model: str
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["one", "two"])
    out = tmp_path / "out.jsonl"
    done = run_cli(embed_args(address, "-m", model, "-i", str(source), "-o", str(out)), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert methods(fake) == {"BatchEmbedText"}
    assert {c.request.model for c in fake.calls} == {GECKO}  # a bare id gets "models/"
    rows = read_jsonl(out)
    assert [r["embedding"] for r in rows] == [expected_embedding(GECKO, t) for t in ["one", "two"]]


@pytest.mark.parametrize(
    ("model", "service", "rpc"),
    [(GEMINI, "text", "BatchEmbedText"), (GECKO, "generative", "BatchEmbedContents")],
)
def test_service_forces_either_rpc(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], model: str, service: str, rpc: str
) -> None:
    fake, address = served  # the fake serves every catalogued model through both RPCs
    source = write_lines(tmp_path / "in.txt", ["one"])
    args = embed_args(address, "-m", model, "--service", service, "-i", str(source))
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert methods(fake) == {rpc}
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    expected = expected_embedding if rpc == "BatchEmbedText" else expected_content_embedding
    assert row["embedding"] == expected(model, "one")


def test_a_bare_model_id_is_the_models_one_and_resumes_its_run(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["one", "two"])
    out = tmp_path / "out.jsonl"
    bare = GEMINI.removeprefix("models/")
    done = run_cli(embed_args(address, "-m", bare, "-i", str(source), "-o", str(out)), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert {r.model for r in content_requests(fake)} == {GEMINI}
    assert [r["embedding"] for r in read_jsonl(out)] == [
        expected_content_embedding(GEMINI, t) for t in ["one", "two"]
    ]
    # the same model by its full name: the output is already complete, nothing is sent
    fake.reset()
    again = run_cli(
        embed_args(address, "-m", GEMINI, "-i", str(source), "-o", str(out)), env=KEY_ENV
    )
    assert again.returncode == 0, again.stderr
    assert fake.calls == []


@pytest.mark.parametrize("model", ["", "gemini embedding", "google/gemini-embedding-001"])
def test_a_malformed_model_is_a_usage_error(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], model: str
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["one"])
    done = run_cli(embed_args(address, "-m", model, "-i", str(source)), env=KEY_ENV)
    assert done.returncode == 2, done.stderr
    assert "model name must start with 'models/'" in done.stderr
    assert fake.calls == []


# -- task type, dimensionality, normalize ---------------------------------------------------


def test_task_type_and_dimensionality_reach_the_request_and_change_the_vectors(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    items = ["alpha", "beta", "gamma"]
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.jsonl"
    args = ["-i", str(source), "-o", str(out), "--task-type", "Query"]
    done = run_cli(embed_args(address, *args, "--output-dimensionality", "768"), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    requests = content_requests(fake)
    assert {r.task_type.name for r in requests} == {"RETRIEVAL_QUERY"}
    assert {r.output_dimensionality for r in requests} == {768}
    vectors = [r["embedding"] for r in read_jsonl(out)]
    assert vectors == [
        expected_content_embedding(GEMINI, t, "RETRIEVAL_QUERY", dimension=768) for t in items
    ]
    assert vectors[0] != expected_content_embedding(GEMINI, "alpha", dimension=768)


def test_normalize_makes_unit_vectors_of_the_servers_values(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    items = ["alpha", "beta"]
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.npy"
    args = ["-i", str(source), "-o", str(out), "--output-dimensionality", "256", "--normalize"]
    done = run_cli(embed_args(address, *args), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert {r.output_dimensionality for r in content_requests(fake)} == {256}
    array = np.load(out)
    raw = as_rows([expected_content_embedding(GEMINI, t, dimension=256) for t in items])
    assert array.shape == (2, 256)
    assert np.allclose(np.linalg.norm(array, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)  # it did something
    assert np.allclose(array, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task-type", "bogus"], "'bogus' is not a task type"),
        (["--task-type", ""], "is not a task type"),
        (["--output-dimensionality", "0"], "--output-dimensionality"),
        (["--output-dimensionality", "many"], "--output-dimensionality"),
        (["-m", GECKO, "--task-type", "query"], "--task-type needs GenerativeService"),
        (["--service", "text", "--normalize"], "--normalize needs GenerativeService"),
        (
            ["-m", GECKO, "--output-dimensionality", "8", "--normalize"],
            "--output-dimensionality and --normalize need GenerativeService",
        ),
        (["--title-column", "t"], "--title-column: "),  # text lines have no columns
    ],
)
def test_bad_options_are_usage_errors_before_anything_is_sent_or_made(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], extra: list[str], message: str
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["one"])
    out = tmp_path / "out.npy"
    done = run_cli(embed_args(address, "-i", str(source), "-o", str(out), *extra), env=KEY_ENV)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    assert fake.calls == []


# -- titles ---------------------------------------------------------------------------------


def write_jsonl(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


TITLED: list[dict[str, Any]] = [
    {"id": "a", "text": "first text", "title": "First"},
    {"id": "b", "text": "second text"},
    {"id": "c", "text": "third text", "title": None},
    {"id": "d", "text": "fourth text", "title": "Fourth"},
]


@pytest.mark.parametrize("task", [None, "retrieval_document", "DOCUMENT"])
def test_titles_go_to_the_api_with_their_texts(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], task: str | None
) -> None:
    fake, address = served
    source = write_jsonl(tmp_path / "in.jsonl", TITLED)
    out = tmp_path / "out.jsonl"
    extra = ["--task-type", task] if task else []
    done = run_cli(embed_args(address, "-i", str(source), "-o", str(out), *extra), env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    note = "the input has titles (2 records): embedding with --task-type retrieval_document"
    assert (note in done.stderr) is (task is None)
    requests = sorted(content_requests(fake), key=text_of)
    assert [(text_of(r), r.title) for r in requests] == [
        ("first text", "First"),
        ("fourth text", "Fourth"),
        ("second text", None),
        ("third text", None),
    ]
    assert {r.task_type.name for r in requests} == {"RETRIEVAL_DOCUMENT"}
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["a", "b", "c", "d"]
    assert [r["embedding"] for r in rows] == [
        expected_content_embedding(GEMINI, o["text"], "RETRIEVAL_DOCUMENT", o.get("title"))
        for o in TITLED
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task-type", "query"], "takes only with --task-type retrieval_document, not "),
        (["-m", GECKO], "which only GenerativeService takes"),
        (["--service", "text"], "which only GenerativeService takes"),
    ],
)
def test_titles_with_another_task_type_or_text_service_are_refused_before_anything_is_made(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], extra: list[str], message: str
) -> None:
    fake, address = served
    source = write_jsonl(tmp_path / "in.jsonl", TITLED)
    out = tmp_path / "out.parquet"
    done = run_cli(embed_args(address, "-i", str(source), "-o", str(out), *extra), env=KEY_ENV)
    assert done.returncode == 2, done.stderr
    assert "the input has titles (2 records)" in done.stderr and message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    assert fake.calls == []


def test_a_title_that_is_not_a_string_is_a_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"text": "ok", "title": "fine"}\n'
        '{"text": "a", "title": 5}\n'
        '{"text": "b", "title": ["x"]}\n'
        '{"text": "c", "title": true}\n'
        '{"text": "d", "title": "  "}\n'
        '{"text": "e", "title": "\\udc00"}\n'
    )
    out = tmp_path / "out.npy"
    done = run_cli(["embed", "--fake", "-m", GEMINI, "-i", str(source), "-o", str(out)])
    assert done.returncode == 3, done.stderr
    assert f'{source}:2: "title" must be a string, not int' in done.stderr
    assert f'{source}:3: "title" must be a string, not list' in done.stderr
    assert f'{source}:4: "title" must be a string, not bool' in done.stderr
    assert f'{source}:5: empty "title"' in done.stderr
    assert f'{source}:6: "title" has a lone surrogate' in done.stderr
    assert "5 bad input line(s) of 6; nothing was sent" in done.stderr
    assert not out.exists() and not (tmp_path / "out.npy.part").exists()

    done = run_cli(
        ["embed", "--fake", "-m", GEMINI, "-i", str(source), "-o", str(out), "--skip-bad"]
    )
    assert done.returncode == 0, done.stderr
    array = np.load(out)
    assert array.shape == (6, 3072) and np.isnan(array[1:]).all()
    expected = expected_content_embedding(GEMINI, "ok", "RETRIEVAL_DOCUMENT", "fine")
    assert np.array_equal(array[0], np.array(expected, np.float32))


def test_parquet_titles_from_a_title_column(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "in.parquet"
    table = pa.table({"body": ["one", "two", "three"], "head": ["One", None, "Three"]})
    pq.write_table(table, source)
    out = tmp_path / "out.parquet"
    args = ["embed", "--fake", "-m", GEMINI, "-i", str(source), "--text-column", "body"]
    args += ["-o", str(out)]
    done = run_cli([*args, "--title-column", "head"])
    assert done.returncode == 0, done.stderr
    assert "the input has titles (2 records)" in done.stderr
    got = pq.read_table(out)
    assert got.column("id").to_pylist() == [1, 2, 3]
    values = got.column("embedding").combine_chunks().flatten().to_numpy().reshape(3, 3072)
    expected = [
        expected_content_embedding(GEMINI, "one", "RETRIEVAL_DOCUMENT", "One"),
        expected_content_embedding(GEMINI, "two", "RETRIEVAL_DOCUMENT"),
        expected_content_embedding(GEMINI, "three", "RETRIEVAL_DOCUMENT", "Three"),
    ]
    assert np.array_equal(values, as_rows(expected))

    done = run_cli([*args, "--title-column", "missing", "--overwrite"])
    assert done.returncode == 2 and "no column 'missing' (--title-column" in done.stderr


# -- resume ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (["--task-type", "query"], ["--task-type", "similarity"]),
        ([], ["--task-type", "query"]),
        (["--output-dimensionality", "768"], ["--output-dimensionality", "1536"]),
        (["--output-dimensionality", "768"], ["--output-dimensionality", "768", "--normalize"]),
        ([], ["--service", "text"]),
        ("A", "B"),  # the first record's title changes
        ("A", None),  # it loses its title
    ],
)
@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
def test_a_rerun_with_other_vector_options_or_titles_reuses_what_they_leave_alone(
    tmp_path: Path, first: Any, second: Any, name: str
) -> None:
    titles = isinstance(first, str)
    source, out = tmp_path / "in.jsonl", tmp_path / name

    def write_input(title: str | None) -> None:
        head = {"text": "one"} if title is None else {"text": "one", "title": title}
        write_jsonl(source, [head, {"text": "two"}])

    write_input(first if titles else None)
    base = ["embed", "--fake", "-i", str(source), "-o", str(out)]
    options = [] if titles else first
    done = run_cli([*base, *options])
    assert done.returncode == 0, done.stderr
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p != source}
    again = run_cli([*base, *options])  # the same again: nothing to do, nothing refused
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p != source} == made

    if titles:
        write_input(second)
    else:
        options = second
    # These were refused (exit 4) before content keys; the vectors they change are embedded
    # again, and those they leave alone reused.
    done = run_cli([*base, *options])
    assert done.returncode == 0, done.stderr
    if second == "B":  # the first record's item changed, not the second's
        assert "reusing 1 of them, embedding 1 text, dropping 1" in done.stderr
    else:  # the options change every vector (without titles, no task type is implied)
        assert "was made with another model or options: none of its 2 results" in done.stderr
    assert not (tmp_path / (name + ".part")).exists()


# The digests an output of the TextService path had before GenerativeService was added (made
# by that version's code, for records (1, "hello"), (2, "world"), (3, "third") with --fake):
# such an output must stay resumable.
OLD_FAKE_GECKO_DIGESTS = [
    "45f03034c0196c8c776e6340cd7dc705",
    "c5e5a9813511eaec33525eaadf358e6e",
    "f34faad64459e94e246135b528169e92",
]


def test_a_part_made_for_gecko_before_the_new_options_is_resumed(tmp_path: Path) -> None:
    items = ["hello", "world", "third"]
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    part.write_bytes(  # two of three results, as the older version wrote them
        b"".join(
            encode_result(i + 1, OLD_FAKE_GECKO_DIGESTS[i], expected_embedding(GECKO, items[i]))
            for i in range(2)
        )
    )
    done = run_cli(["embed", "--fake", "-m", GECKO, "-i", str(source), "-o", str(out)])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["digest"] for r in rows] == OLD_FAKE_GECKO_DIGESTS
    assert [r["embedding"] for r in rows] == [expected_embedding(GECKO, t) for t in items]

    # Today's default model on the same output: another model, nothing reused (the line
    # this version wrote has a key: another model's), every text embedded again.
    done = run_cli(["embed", "--fake", "-m", GEMINI, "-i", str(source), "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert "was made with another model or options: none of its 1 results is reused" in (
        done.stderr
    )
    assert [r["embedding"] for r in read_jsonl(out)] == [
        expected_content_embedding(GEMINI, t, None, None) for t in items
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "how", "lines", "stop_at"),
    [
        ("out.jsonl", signal.SIGKILL, 300, 60),
        ("out.npy", signal.SIGINT, 300, 60),
        # A Parquet .part holds results once a segment of 8 MiB (683 rows of 3,072) is written.
        ("out.parquet", signal.SIGKILL, 1200, 600),
    ],
)
def test_a_content_run_stopped_midway_then_resumed_equals_a_clean_run(
    tmp_path: Path,
    served: tuple[FakeServer, ServerAddress],
    name: str,
    how: signal.Signals,
    lines: int,
    stop_at: int,
) -> None:
    fake, address = served
    items = texts(lines)
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / name
    part = tmp_path / (name + ".part")
    args = embed_args(address, "-i", str(source), "-o", str(out), "--task-type", "clustering")
    fake.faults.delay(0.03, method="BatchEmbedContents")
    stopped = [*args, "--batch-size", "10", "--concurrency", "2"]
    code = stop_when(part, stop_at, stopped, how, env=KEY_ENV, poll=0.01, within=60)
    assert code == (130 if how == signal.SIGINT else -signal.SIGKILL)
    assert not out.exists()
    kept = results_in(part)
    assert stop_at <= kept < lines

    settle(fake.log)  # the stopped run's last calls may still be arriving
    fake.faults.clear()
    fake.log.clear()
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert not part.exists()
    again = [text_of(r) for r in content_requests(fake)]
    assert sorted(again) == sorted(items[kept:])  # only what the .part did not hold
    assert methods(fake) == {"BatchEmbedContents"}

    expected = as_rows([expected_content_embedding(GEMINI, t, "CLUSTERING") for t in items])
    if name.endswith(".npy"):
        assert np.array_equal(np.load(out), expected)
    elif name.endswith(".jsonl"):  # byte for byte a clean run's, digests included
        settings = VectorSettings(GEMINI, service="generative", task_type="CLUSTERING")
        records = [Record(i + 1, i + 1, t) for i, t in enumerate(items)]
        assert out.read_bytes() == encode_batch(records, expected, DigestChain(settings))
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out)
        assert table.column("id").to_pylist() == list(range(1, lines + 1))
        values = table.column("embedding").combine_chunks().flatten().to_numpy()
        assert np.array_equal(values.reshape(lines, 3072), expected)


# -- textservice models ---------------------------------------------------------------------


def test_models_lists_the_fakes_catalogue_with_methods() -> None:
    done = run_cli(["models", "--fake"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    (gemini,) = [line for line in lines if line.startswith(GEMINI + " ")]
    assert "embedContent" in gemini.split() or "embedContent," in gemini.split()
    assert "input 2,048 tokens" in gemini
    (gecko,) = [line for line in lines if line.startswith(GECKO + " ")]
    assert "embedText" in gecko and "embedContent" not in gecko
    (two,) = [line for line in lines if line.startswith(TWO + " ")]
    assert "input 8,192 tokens" in two
    assert len(lines) == 4  # text-bison-001 too


def test_models_json_and_method_filter(served: tuple[FakeServer, ServerAddress]) -> None:
    fake, address = served
    args = ["models", "--endpoint", address.target, "--insecure", "--json"]
    done = run_cli([*args, "--method", "EMBEDCONTENT"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    listed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [m["name"] for m in listed] == [GEMINI, TWO]
    assert all("embedContent" in m["supported_generation_methods"] for m in listed)
    assert methods(fake) == {"ListModels"}

    done = run_cli(["models"], env={})
    assert done.returncode == 2 and "no API key" in done.stderr


def test_models_reads_every_page() -> None:
    names = [f"models/m-{i:03d}" for i in range(120)]  # more than a page of 50
    fake = FakeServer(api_key="content-key", known_models=names)
    with fake.serve() as address:
        args = ["models", "--endpoint", address.target, "--insecure"]
        done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == names
    assert len(fake.calls) > 1 and methods(fake) == {"ListModels"}
