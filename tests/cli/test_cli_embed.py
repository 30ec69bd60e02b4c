"""``textservice embed`` as a user runs it: formats, resume, atomic finish, the API key."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pytest
from support.cli_helpers import (
    CLI,
    MODEL,
    cli_env,
    read_jsonl,
    results_in,
    run_cli,
    settle,
    texts,
    texts_embedded,
    wait_until_read,
    write_lines,
)

from textservice.testing import FakeServer, ServerAddress, expected_embedding

pytestmark = pytest.mark.subprocess

# -- happy paths (in-process fake) ---------------------------------------------------------


def test_text_lines_to_jsonl(tmp_path: Path) -> None:
    items = texts(250)
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.jsonl"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # piped: quiet
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == list(range(1, 251))
    assert [r["embedding"] for r in rows] == [expected_embedding(MODEL, t) for t in items]
    assert not (tmp_path / "out.jsonl.part").exists()


def test_jsonl_input_to_npy_rows_follow_input_lines(tmp_path: Path) -> None:
    items = texts(130)
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"doc-{i}", "text": t}) + "\n" for i, t in enumerate(items))
    )
    out = tmp_path / "out.npy"
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--batch-size", "7"]
    )
    assert done.returncode == 0, done.stderr
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (130, 768)
    expected = np.array([expected_embedding(MODEL, t) for t in items], dtype=np.float32)
    assert np.array_equal(array, expected)
    assert not (tmp_path / "out.npy.part").exists()


def test_jsonl_input_ids_are_kept_in_jsonl_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "b", "text": "bee"}\n{"id": 30, "text": "thirty"}\n{"text": "x"}\n')
    out = tmp_path / "out.jsonl"
    done = run_cli(["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)])
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["b", 30, 3]  # the default id is the line number
    assert rows[1]["embedding"] == expected_embedding(MODEL, "thirty")


def test_skip_bad_npy_rows_of_bad_lines_are_nan(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one\n\nthree\n")
    out = tmp_path / "out.npy"
    done = run_cli(
        ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out), "--skip-bad"]
    )
    assert done.returncode == 0, done.stderr
    assert f"{source}:2: empty line" in done.stderr
    array = np.load(out)
    assert array.shape == (3, 768)
    assert np.isnan(array[1]).all()
    assert np.array_equal(array[2], np.array(expected_embedding(MODEL, "three"), np.float32))


def test_standard_input_to_standard_output() -> None:
    done = run_cli(["embed", "--fake", "-m", MODEL], stdin=b"hello\nworld\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["embedding"]) for r in rows] == [
        (1, expected_embedding(MODEL, "hello")),
        (2, expected_embedding(MODEL, "world")),
    ]
    assert all(len(r["digest"]) == 32 for r in rows)  # the same lines as a file output


def test_the_console_script_is_installed_and_documents_exit_codes() -> None:
    script = Path(sys.executable).parent / "textservice"
    done = subprocess.run([str(script), "embed", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--api-key-file" in done.stdout
    assert "Exit codes:" in done.stdout and "130" in done.stdout and "141" in done.stdout


def test_npy_output_without_numpy_is_a_clear_usage_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", ["a"])
    code = (
        "import sys; sys.modules['numpy'] = None; sys.argv[0] = 'textservice'; "
        "from textservice.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "embed", "--fake", "-m", MODEL, "-i", str(source),
         "-o", str(tmp_path / "out.npy")],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install numpy" in done.stderr
    assert not (tmp_path / "out.npy.part").exists()


# -- resume (a fake served on a port, so the test sees and slows down every call) ----------


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="right-key")
    with fake.serve() as address:
        yield fake, address


def endpoint_args(address: ServerAddress) -> list[str]:
    return ["--endpoint", address.target, "--insecure"]


KEY_ENV = {"GOOGLE_API_KEY": "right-key"}


def texts_sent(fake: FakeServer) -> list[str]:
    return [t for call in fake.calls if call.method == "BatchEmbedText" for t in call.request.texts]


def wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until ``path`` (an output's ``.part``, or JSONL) holds ``count`` results."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if results_in(path) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before writing {count} lines: {process.returncode}")
        time.sleep(0.01)
    pytest.fail(f"{path} did not reach {count} lines")


def stop_midway(
    fake: FakeServer, args: list[str], part: Path, how: signal.Signals = signal.SIGINT
) -> tuple[subprocess.Popen[bytes], bytes]:
    """Run ``textservice ARGS`` slowly and stop it with ``how`` once ``part`` has 60 lines."""
    fake.faults.delay(0.04, method="BatchEmbedText")
    # a process of its own: it is signalled or killed mid-way
    process = subprocess.Popen(
        [*CLI, *args, "--batch-size", "10", "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(KEY_ENV),
    )
    try:
        wait_for_lines(part, 60, process)
        process.send_signal(how)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    fake.faults.clear()
    return process, err


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "how"), [("out.jsonl", signal.SIGKILL), ("out.npy", signal.SIGINT)]
)
def test_a_run_stopped_midway_then_resumed_equals_a_clean_run(
    tmp_path: Path,
    served: tuple[FakeServer, ServerAddress],
    name: str,
    how: signal.Signals,
) -> None:
    fake, address = served
    items = texts(400)
    source = write_lines(tmp_path / "in.txt", items)
    clean = tmp_path / ("clean" + Path(name).suffix)
    args = ["embed", "-m", MODEL, "-i", str(source), *endpoint_args(address)]
    done = run_cli([*args, "-o", str(clean)], env=KEY_ENV)
    assert done.returncode == 0, done.stderr

    out = tmp_path / name
    part = tmp_path / (name + ".part")
    args = [*args, "-o", str(out)]
    process, err = stop_midway(fake, args, part, how)
    if how == signal.SIGINT:
        assert process.returncode == 130, err
        assert b"run the same command again to resume" in err
    else:
        assert process.returncode == -signal.SIGKILL
    assert not out.exists()  # unfinished: no output, only the .part
    complete = results_in(part)
    assert 60 <= complete < 400
    if name.endswith(".jsonl"):
        written = part.read_bytes()
        ids = [json.loads(line)["id"] for line in written.split(b"\n")[:complete]]
        assert ids == list(range(1, complete + 1))  # a prefix of the input, in order
    else:  # the rows so far, in input order (a .npy's rows are its lines)
        rows = np.frombuffer(part.read_bytes()[512 : 512 + complete * 768 * 4], "<f4")
        assert np.array_equal(rows.reshape(complete, 768), np.load(clean)[:complete])

    fake.log.clear()
    done = run_cli([*args, "--batch-size", "10"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert sorted(texts_sent(fake)) == sorted(items[complete:])  # written ones not asked again
    assert not part.exists()
    if name.endswith(".npy"):
        assert np.array_equal(np.load(out), np.load(clean))
    else:
        assert out.read_bytes() == clean.read_bytes()
        results = read_jsonl(out)
        assert [r["id"] for r in results] == list(range(1, 401))  # none missing, none twice


@pytest.mark.network
def test_a_torn_last_line_of_the_part_is_redone(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    items = texts(20)
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), *endpoint_args(address)]
    assert run_cli(args, env=KEY_ENV).returncode == 0
    clean = out.read_bytes()
    lines = clean.split(b"\n")
    out.unlink()
    part = tmp_path / "out.jsonl.part"
    part.write_bytes(b"\n".join(lines[:3]) + b"\n" + lines[3][:40])  # a crash mid-write
    fake.log.clear()
    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert sorted(texts_sent(fake)) == sorted(items[3:])
    assert out.read_bytes() == clean


@pytest.mark.network
def test_a_complete_part_is_finished_without_calling_anything(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    # A run stopped after its last batch but before the rename: the rerun only finishes.
    _, address = served
    source = write_lines(tmp_path / "in.txt", texts(12))
    out = tmp_path / "out.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out)]
    assert run_cli([*args, *endpoint_args(address)], env=KEY_ENV).returncode == 0
    clean = out.read_bytes()
    out.rename(tmp_path / "out.jsonl.part")
    # Nothing listens on port 1: any call would fail.
    nowhere = ["--endpoint", "127.0.0.1:1", "--insecure", "--timeout", "2"]
    done = run_cli([*args, *nowhere])
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == clean
    assert not (tmp_path / "out.jsonl.part").exists()


@pytest.mark.network
def test_a_finished_output_is_not_redone_and_a_grown_input_is_continued(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", texts(30))
    out = tmp_path / "out.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), *endpoint_args(address)]
    assert run_cli(args, env=KEY_ENV).returncode == 0
    fake.log.clear()
    again = run_cli([*args, "--progress"], env=KEY_ENV)
    assert again.returncode == 0, again.stderr
    assert "nothing to do: all 30 texts are already in" in again.stderr
    assert fake.calls == []

    write_lines(source, texts(45))
    grown = run_cli(args, env=KEY_ENV)
    assert grown.returncode == 0, grown.stderr
    assert sorted(texts_sent(fake)) == sorted(texts(45)[30:])
    assert [r["embedding"] for r in read_jsonl(out)] == [
        expected_embedding(MODEL, t) for t in texts(45)
    ]


def vectors_of(out: Path) -> list[list[float]]:
    """The vectors of a finished JSONL or ``.npy`` output, in order."""
    if out.suffix == ".npy":
        rows: list[list[float]] = np.load(out).tolist()
        return rows
    return [r["embedding"] for r in read_jsonl(out)]


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
@pytest.mark.parametrize("change", ["model", "fake"])
def test_a_finished_output_of_another_model_or_server_reuses_nothing_and_says_so(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str, change: str
) -> None:
    # Before content keys, this was refused (exit 4) and --overwrite re-embedded it all; it
    # still re-embeds it all, as it must, without the detour.
    fake, address = served
    items = texts(7)
    out = tmp_path / name
    source = write_lines(tmp_path / "in.txt", items)
    base = ["embed", "-i", str(source), "-o", str(out)]
    assert run_cli([*base, "-m", MODEL, "--fake"]).returncode == 0
    # another model, or the same one through another server (whose vectors may differ)
    model = "models/text-bison-001" if change == "model" else MODEL
    done = run_cli([*base, "-m", model, *endpoint_args(address)], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert "was made with another model or options: none of its 7 results is reused" in (
        done.stderr
    )
    assert sorted(texts_embedded(fake)) == sorted(items)
    assert vectors_of(out) == [expected_embedding(model, t) for t in items]
    assert sorted(p.name for p in tmp_path.glob(name + "*")) == sorted(
        [name, *([f"{name}.digest", f"{name}.ids.jsonl"] if name.endswith(".npy") else [])]
    )


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("name", ["out.jsonl", "out.npy", "out.parquet"])
@pytest.mark.parametrize("position", [0, 3, 6])
def test_a_changed_line_of_a_finished_output_is_the_only_text_sent(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str, position: int
) -> None:
    fake, address = served
    items = texts(7)
    out = tmp_path / name
    source = write_lines(tmp_path / "in.txt", items)
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), *endpoint_args(address)]
    assert run_cli(args, env=KEY_ENV).returncode == 0
    fake.log.clear()
    items[position] = "a changed line, same count"
    write_lines(source, items)
    done = run_cli([*args, "--progress"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert texts_sent(fake) == ["a changed line, same count"]
    assert "reusing 6 of them, embedding 1 text, dropping 1" in done.stderr
    assert "reused 6, embedded 1, dropped 1" in done.stderr
    clean = tmp_path / ("clean" + out.suffix)
    again = ["embed", "-m", MODEL, "-i", str(source), "-o", str(clean), *endpoint_args(address)]
    assert run_cli(again, env=KEY_ENV).returncode == 0
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        assert pq.read_table(out).equals(pq.read_table(clean))
    else:
        assert out.read_bytes() == clean.read_bytes()
    if name.endswith(".npy"):
        assert (tmp_path / "out.npy.ids.jsonl").read_bytes() == (
            tmp_path / "clean.npy.ids.jsonl"
        ).read_bytes()


@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
def test_a_changed_input_with_an_output_without_keys_is_refused_and_left_alone(
    tmp_path: Path, name: str
) -> None:
    # Written before content keys existed: nothing says which vector is which text's.
    items = texts(7)
    out = tmp_path / name
    source = write_lines(tmp_path / "in.txt", items)
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    assert run_cli(args).returncode == 0
    if name.endswith(".npy"):
        (tmp_path / "out.npy.ids.jsonl").unlink()
    else:
        out.write_bytes(re.sub(rb'"key":"[0-9a-f]{32}",', b"", out.read_bytes()))
    files = sorted(tmp_path.glob(name + "*"))
    before = [f.read_bytes() for f in files]
    items[3] = "a changed line, same count"
    write_lines(source, items)
    done = run_cli(args)
    assert done.returncode == 4, done.stderr
    assert "(pass --overwrite to replace it)" in done.stderr
    if name.endswith(".jsonl"):
        assert "result 4 does not match" in done.stderr
    assert sorted(tmp_path.glob(name + "*")) == files  # no .part either
    assert [f.read_bytes() for f in files] == before
    assert run_cli([*args, "--overwrite"]).returncode == 0
    assert vectors_of(out) == [expected_embedding(MODEL, t) for t in items]


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
def test_an_interrupted_run_of_another_input_is_set_aside_and_reused(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str
) -> None:
    fake, address = served
    s1 = texts(400)
    source = write_lines(tmp_path / "s1.txt", s1)
    out = tmp_path / name
    part = tmp_path / (name + ".part")
    args = ["embed", "-m", MODEL, "-o", str(out), *endpoint_args(address)]
    process, err = stop_midway(fake, [*args, "-i", str(source)], part)
    assert process.returncode == 130, err
    held = results_in(part)
    settle(fake.log)
    fake.log.clear()

    changed = list(s1)
    changed[4] = "line 5 changed"  # one line, well inside what the .part holds
    done = run_cli([*args, "-i", str(write_lines(tmp_path / "s2.txt", changed))], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert f"reusing {held - 1} of them, embedding {400 - held + 1} texts, dropping 1" in (
        done.stderr
    )
    assert sorted(texts_sent(fake)) == sorted(["line 5 changed", *s1[held:]])
    assert vectors_of(out) == [expected_embedding(MODEL, t) for t in changed]
    assert not part.exists() and not (tmp_path / (name + ".reuse")).exists()


@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
def test_an_output_of_an_older_version_is_refused_with_a_clear_message(
    tmp_path: Path, name: str
) -> None:
    items = texts(3)
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / name
    vectors = [expected_embedding(MODEL, t) for t in items]
    if name.endswith(".npy"):  # no out.npy.digest next to it
        np.save(out, np.array(vectors, np.float32))
    else:  # no "digest" in its lines
        out.write_text(
            "".join(json.dumps({"id": i + 1, "embedding": v}) + "\n" for i, v in enumerate(vectors))
        )
    before = out.read_bytes()
    args = ["embed", "--fake", "-m", MODEL, "-i", str(source), "-o", str(out)]
    done = run_cli(args)
    assert done.returncode == 4
    assert "written by an older version of textservice" in done.stderr
    assert "pass --overwrite to embed it again" in done.stderr
    assert out.read_bytes() == before
    assert run_cli([*args, "--overwrite"]).returncode == 0


def start_slowly(
    fake: FakeServer, args: list[str], stdout: int | IO[bytes] = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """Start ``textservice ARGS`` with one slow batch of 10 texts at a time."""
    fake.faults.delay(0.04, method="BatchEmbedText")
    # a process of its own: it runs while the test changes what the server sends
    return subprocess.Popen(
        [*CLI, *args, "--batch-size", "10", "--concurrency", "1"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=cli_env(KEY_ENV),
    )


def change_dimension(fake: FakeServer, dimension: int) -> None:
    fake.embedding_dimension = dimension  # a server fault: the next answers are longer/shorter


@pytest.mark.network
def test_a_dimension_change_midway_is_a_server_fault_naming_the_kept_part(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", texts(400))
    out = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), *endpoint_args(address)]
    process = start_slowly(fake, args)
    try:
        wait_for_lines(part, 30, process)
        change_dimension(fake, 512)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    message = err.decode()
    assert process.returncode == 1, message
    assert "the server sent an embedding of 512 values after ones of 768 in this run" in message
    assert "server fault" in message
    assert "another input" not in message and "partial output" not in message
    assert f"{part} is kept" in message and part.stat().st_size > 0

    fake.faults.clear()
    again = run_cli(args, env=KEY_ENV)  # the server still sends 512: no resume
    assert again.returncode == 1
    assert f"the server sent an embedding of 512 values, but {part} holds ones of 768" in (
        again.stderr
    )
    assert "is kept" not in again.stderr and "--overwrite" in again.stderr


@pytest.mark.network
def test_a_dimension_change_on_standard_output_names_no_part(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", texts(400))
    results = tmp_path / "stdout.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), *endpoint_args(address)]
    with results.open("wb") as stdout:
        process = start_slowly(fake, args, stdout)
        try:
            wait_for_lines(results, 30, process)
            change_dimension(fake, 512)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    message = err.decode()
    assert process.returncode == 1, message
    assert "after ones of 768 in this run: a server fault" in message
    assert ".part" not in message and "partial" not in message
    assert list(tmp_path.glob("*.part")) == []


@pytest.mark.slow
@pytest.mark.network  # a connection to 127.0.0.1:1, refused
def test_a_run_that_fails_before_any_result_leaves_no_part(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", texts(3))
    out = tmp_path / "out.jsonl"
    nowhere = ["--endpoint", "127.0.0.1:1", "--insecure", "--timeout", "2"]
    done = run_cli(["embed", "-m", MODEL, "-i", str(source), "-o", str(out), *nowhere])
    assert done.returncode == 1, done.stderr
    assert "UNAVAILABLE" in done.stderr and ".part" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no 0-byte out.jsonl.part


# -- the API key -----------------------------------------------------------------------


SECRET = "SECRET-key-0123456789abcdef"


@pytest.mark.network
def test_the_api_key_is_never_printed(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", texts(3))
    base = ["embed", "-m", MODEL, "-i", str(source), *endpoint_args(address), "--progress"]
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")
    runs = [
        run_cli(base, env={"GOOGLE_API_KEY": SECRET}),  # rejected by the server
        run_cli([*base, "--api-key-file", str(key_file)]),  # rejected by the server
        run_cli([*base, "-o", str(tmp_path / "out.npy")], env={"GOOGLE_API_KEY": "right-key"}),
    ]
    assert [r.returncode for r in runs[:3]] == [1, 1, 0], [r.stderr for r in runs]
    assert "UNAUTHENTICATED" in runs[0].stderr and "UNAUTHENTICATED" in runs[1].stderr
    for done in runs:
        assert SECRET not in done.stdout and SECRET not in done.stderr
        assert "right-key" not in done.stdout and "right-key" not in done.stderr
    assert [c.api_key == SECRET for c in fake.calls[:2]] == [True, True]


@pytest.mark.parametrize("output", ["out.jsonl", "out.npy", None])
def test_no_key_is_a_usage_error_naming_where_a_key_comes_from(
    tmp_path: Path, output: str | None
) -> None:
    source = write_lines(tmp_path / "in.txt", ["a"])
    args = ["embed", "-m", MODEL, "-i", str(source)]
    if output is not None:
        args += ["-o", str(tmp_path / output)]
    done = run_cli(args, env={"GOOGLE_API_KEY": ""})
    assert done.returncode == 2
    for advice in ("GOOGLE_API_KEY", "--api-key-file", "--fake"):
        assert advice in done.stderr
    assert "Client" not in done.stderr and "api_key=" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no OUTPUT.part made
    assert done.stdout == ""


@pytest.mark.parametrize(
    "command", [["generate-text", "hi"], ["count-tokens", "-m", "models/text-bison-001", "hi"]]
)
def test_no_key_is_the_same_usage_error_for_the_other_commands(command: list[str]) -> None:
    done = run_cli(command, env={"GOOGLE_API_KEY": ""})
    assert done.returncode == 2
    for advice in ("GOOGLE_API_KEY", "--api-key-file", "--fake"):
        assert advice in done.stderr
    assert "Client" not in done.stderr


def test_an_empty_key_file_is_a_usage_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", ["a"])
    empty = tmp_path / "empty-key"
    empty.write_text("\n")
    out = tmp_path / "out.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), "--api-key-file", str(empty)]
    done = run_cli(args)
    assert done.returncode == 2
    assert "is empty" in done.stderr
    assert not (tmp_path / "out.jsonl.part").exists()


def test_ctrl_c_while_the_input_is_read_stops_with_130_and_sends_nothing(tmp_path: Path) -> None:
    # Standard input left open: the command waits in its first pass (spooling the input).
    # a process of its own: it gets Ctrl-C (SIGINT)
    process = subprocess.Popen(
        [*CLI, "embed", "--fake", "-m", MODEL, "-o", str(tmp_path / "out.npy")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    try:
        assert process.stdin is not None
        process.stdin.write(b"a first line\n")
        process.stdin.flush()
        wait_until_read(process)  # started, and reading its standard input
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert b"textservice: interrupted; nothing was sent" in err
    assert list(tmp_path.iterdir()) == []
