# ruff: noqa: RUF001 - the report is markdown with multiplication signs
"""Big jobs (issue 14): ``textservice embed`` at scale, beside the library and Ray Data.

``make bench`` runs this after ``run.py``; it writes its own section of ``bench/RESULTS.md``
(between ``<!-- scale:begin -->`` and ``<!-- scale:end -->``, replaced in place).

Every contender is a child process against one ``textservice fake-server`` (the project's
fake, 0 ms latency, its own process) per embedding dimension, measured side by side in one
run: wall time, texts/s, the child's CPU time (user + system, its descendants included) and
its peak RSS (``ru_maxrss`` of the child from ``os.wait4``; for Ray, the driver's, and the
largest of its descendants, the workers among them):

- ``library``: ``iter_embeddings(output="numpy")`` over the same texts, 10,000 at a time,
  each batch dropped (the library's own throughput on this server);
- ``cli .npy`` / ``cli .parquet`` / ``cli .jsonl``: ``textservice embed -i FILE -o OUT``;
- ``ray``: Ray Data, ``read_text`` then ``map_batches(Embedder, 2 workers, 5,000 rows a
  batch)`` then ``write_parquet``, on ``ray.init(num_cpus=2)`` (only at 100,000 rows), with
  the CLI's model. Its wall time includes starting and stopping the local cluster; the
  seconds ``import ray`` + ``ray.init`` and ``ray.shutdown`` took are also reported on their
  own (a fixed cost, whatever the rows).

Each output is checked (shape, first/middle/last rows against the fake's vectors) and removed.
Free disk is checked first: 1,000,000 rows of 3,072 float32 values is 12 GB (24 GB while a
Parquet job joins its segments); a size that does not fit is skipped, and the report says so.

``--images N`` measures media instead (issue 19), in its own section (between
``<!-- scale-images:begin -->`` and ``<!-- scale-images:end -->``): ``textservice embed -m
models/gemini-embedding-2 -i DIR -o OUT.npy`` over a folder of N images of 100 KB each (PNG
header, then deterministic bytes), against the fake at 3,072 dimensions: images/s, CPU and
peak RSS (target: at most 300 MiB), each output checked (shape, first and last rows against
the fake's vectors of those images).

Usage: ``.venv/bin/python bench/scale.py [--sizes 100000,1000000] [--dims 768,3072]
[--quick] [--out FILE]``; ``.venv/bin/python bench/scale.py --images 2000 [--rounds R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sections import splice

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work" / "scale"
RESULTS = REPO / "bench" / "RESULTS.md"
MEASURES = WORK / "measures.jsonl"
"""Every measurement of the current run, appended as made (``--reuse`` goes on from it)."""
PY = sys.executable
MODEL = "models/embedding-gecko-001"
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
MIB = 1 << 20


def text(i: int) -> str:
    """The bench's line ``i`` (0-based): distinct, about 60 characters."""
    return f"document {i}: the quick brown fox {i * 7 % 13} jumps over the lazy dog {i % 97}"


# -- children ------------------------------------------------------------------------------


def child_library(n: int, target: str, dim: int) -> None:
    """The library's own numpy throughput: texts streamed 10,000 at a time, batches dropped."""
    import numpy as np

    import textservice
    from textservice.testing.vectors import embedding_bytes

    client = textservice.Client("bench", endpoint=target, insecure=True)
    texts = (text(i) for i in range(n))
    done = 0
    first = None
    while chunk := list(itertools.islice(texts, 10_000)):
        for batch in textservice.iter_embeddings(MODEL, chunk, client=client, output="numpy"):
            if first is None:
                first = batch[0].copy()
            done += len(batch)
    assert done == n, done
    assert first is not None
    expected = np.frombuffer(embedding_bytes(MODEL, text(0), dim), "<f4")
    assert np.array_equal(first, expected)
    client.close()


def child_ray(n: int, target: str, source: str, out: str, timings: str) -> None:
    """Ray Data: read the lines, embed them with two workers, write Parquet. The seconds
    ``ray.init`` and ``ray.shutdown`` took (part of the timed run) go to ``timings``."""
    started = time.perf_counter()
    import ray

    from textservice.ray import Embedder

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init = time.perf_counter() - started
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ds = ray.data.read_text(source, override_num_blocks=8)
    ds = ds.map_batches(
        Embedder,
        **Embedder.map_batches_kwargs(
            MODEL,  # the CLI rows' model (`-m MODEL`): the same RPCs, the same work
            workers=2,
            num_cpus=0.5,
            # the key: GOOGLE_API_KEY of this process, which the local workers inherit
            client_options={"endpoint": target, "insecure": True},
        ),
        # Several times max_concurrency (8) x 100 texts a call: one batch keeps a worker's
        # calls in flight; at 1,000 rows a batch (10 calls) each worker idled between batches.
        batch_size=5000,
        batch_format="pyarrow",
    )
    ds.write_parquet(out)
    stopping = time.perf_counter()
    ray.shutdown()
    stop = time.perf_counter() - stopping
    Path(timings).write_text(json.dumps({"init": init, "shutdown": stop}), encoding="utf-8")


# -- the driver ----------------------------------------------------------------------------


@dataclass
class Measure:
    """One contender at one size: each round's wall and CPU seconds and peak RSS."""

    rows: int
    dim: int
    what: str
    walls: list[float]
    cpus: list[float | None]
    rss: list[float]
    note: str = ""
    fixed: list[float] = field(default_factory=list)
    """Ray only: each round's seconds of ``import ray`` + ``ray.init`` + ``ray.shutdown``."""

    @property
    def seconds(self) -> float:
        """The median wall time."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float | None:
        """The median CPU time (``None``: not recorded)."""
        known = [c for c in self.cpus if c is not None]
        return statistics.median(known) if known else None

    @property
    def rss_mib(self) -> float:
        """The highest peak of the rounds."""
        return max(self.rss)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def run_child(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``argv``; (wall seconds, CPU seconds, peak RSS MiB) of that child."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    err = process.stderr.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {process.returncode}: {err[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


class FakeServer:
    """``textservice fake-server`` on a free port, in its own process."""

    def __init__(self, dim: int) -> None:
        self.process = subprocess.Popen(
            [PY, "-m", "textservice.cli", "fake-server", "--port", "0", "--dimension", str(dim)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"the fake server did not start: {line!r}")
        self.target = line.split("listening on", 1)[1].strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def write_input(n: int) -> Path:
    path = WORK / f"in-{n}.txt"
    if not path.exists() or path.stat().st_size == 0:
        with path.open("w", encoding="utf-8") as f:
            for start in range(0, n, 100_000):
                f.write("".join(text(i) + "\n" for i in range(start, min(n, start + 100_000))))
    return path


def check_output(path: Path, n: int, dim: int) -> None:
    """Shape and three rows against the fake's vectors; then the output is removed."""
    import numpy as np

    from textservice.testing.vectors import embedding_bytes

    picks = [0, n // 2, n - 1]
    if path.suffix == ".npy":
        array = np.load(path, mmap_mode="r")  # the checker's memory, not the CLI's
        assert array.shape == (n, dim), array.shape
        rows = [np.asarray(array[i]) for i in picks]
    elif path.suffix == ".parquet":  # the CLI's: rows in input order; read by row group only
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        assert parquet.metadata.num_rows == n
        starts = list(itertools.accumulate(
            (parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)),
            initial=0,
        ))  # fmt: skip
        rows = []
        for i in picks:
            group = next(g for g in range(parquet.num_row_groups) if starts[g + 1] > i)
            table = parquet.read_row_group(group)
            assert table.column("id")[i - starts[group]].as_py() == i + 1
            embedding = table.column("embedding")[i - starts[group]].as_py()
            rows.append(np.asarray(embedding, np.float32))
    elif path.is_dir():  # Ray's: blocks in the order they finished; find each row by its text
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        table = ds.dataset(path, format="parquet").to_table(columns=["text", "embedding"])
        assert table.num_rows == n
        texts = table.column("text")
        places = [pc.index(texts, text(i)).as_py() for i in picks]
        column = table.column("embedding")
        rows = [np.asarray(column[i].as_py(), np.float32) for i in places]
    else:
        lines = path.read_bytes().splitlines()
        assert len(lines) == n
        rows = [np.asarray(json.loads(lines[i])["embedding"], np.float32) for i in picks]
    for i, row in zip(picks, rows, strict=True):
        assert np.array_equal(row, np.frombuffer(embedding_bytes(MODEL, text(i), dim), "<f4")), i


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    for extra in path.parent.glob(path.name + ".*"):
        if extra.is_dir():
            shutil.rmtree(extra)
        else:
            extra.unlink()


def free_bytes() -> int:
    return shutil.disk_usage(WORK).free


def note_of(what: str) -> str:
    return "largest single Ray process, not their sum" if what == "ray" else ""


def load_saved() -> dict[tuple[int, int, str], list[dict[str, Any]]]:
    """The measurements of an earlier run of this one (``--reuse``), by (rows, dim, what)."""
    saved: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    if MEASURES.exists():
        for line in MEASURES.read_text(encoding="utf-8").splitlines():
            found = json.loads(line)
            saved.setdefault((found["rows"], found["dim"], found["what"]), []).append(found)
    return saved


def measure(
    sizes: list[int], dims: list[int], ray_rows: int | None, rounds: int, *, reuse: bool
) -> tuple[list[Measure], list[str]]:
    """Every contender at every size, ``rounds`` times up to 100,000 rows (once above),
    alternating contenders from round to round. Each measurement is appended to
    ``MEASURES`` as it is made; with ``reuse`` those already there are not made again."""
    saved = load_saved() if reuse else {}
    if not reuse:
        MEASURES.unlink(missing_ok=True)
    results: list[Measure] = []
    skipped: list[str] = []
    env = {**os.environ, "GOOGLE_API_KEY": "bench"}
    for dim in dims:
        server = FakeServer(dim)
        try:
            for n in sizes:
                source = write_input(n)
                output_bytes = n * dim * 4
                kinds = [".npy", ".parquet"] + ([".jsonl"] if n <= 100_000 else [])
                runs: list[tuple[str, list[str], Path | None]] = [
                    ("library", [PY, __file__, "library", str(n), server.target, str(dim)], None)
                ]
                for kind in kinds:
                    target = WORK / f"out-{n}-{dim}{kind}"
                    argv = [PY, "-m", "textservice.cli", "embed", "-m", MODEL,
                            "-i", str(source), "-o", str(target),
                            "--endpoint", server.target, "--insecure"]  # fmt: skip
                    runs.append((f"cli {kind}", argv, target))
                timings = WORK / "ray-timings.json"
                if ray_rows == n:
                    target = WORK / f"ray-{n}-{dim}"
                    argv = [PY, __file__, "ray", str(n), server.target, str(source), str(target),
                            str(timings)]  # fmt: skip
                    runs.append(("ray", argv, target))
                found: dict[str, Measure] = {}
                for what, _, _ in runs:  # what a run stopped midway measured (--reuse)
                    for done in saved.get((n, dim, what), []):
                        m = found.setdefault(what, Measure(n, dim, what, [], [], [], note_of(what)))
                        m.walls.append(done["wall"])
                        m.cpus.append(done["cpu"])
                        m.rss.append(done["rss"])
                        if done.get("fixed") is not None:
                            m.fixed.append(done["fixed"])
                for round_index in range(rounds if n <= 100_000 else 1):
                    shift = round_index % len(runs)
                    for what, argv, out in runs[shift:] + runs[:shift]:
                        if what in found and round_index < len(found[what].walls):
                            continue  # measured by an earlier, stopped run (--reuse)
                        # JSONL is ~3x the size of the floats; Parquet needs its segments twice.
                        need = output_bytes * (3 if what.endswith("jsonl") else 2) + (1 << 30)
                        if out is not None and free_bytes() < need:
                            if round_index == 0:
                                skipped.append(
                                    f"{what} at {n:,} rows × {dim}: needs {need / 2**30:.0f} GiB "
                                    f"of free disk, {free_bytes() / 2**30:.0f} GiB free"
                                )
                            continue
                        if out is not None:
                            remove(out)  # what an earlier, failed run left
                        print(f"scale: {what} {n:,} × {dim} ...", file=sys.stderr, flush=True)
                        timings.unlink(missing_ok=True)
                        seconds, cpu, rss = run_child(argv, env)
                        fixed = None
                        if what == "ray":
                            spent = json.loads(timings.read_text(encoding="utf-8"))
                            fixed = spent["init"] + spent["shutdown"]
                        if out is not None:
                            # in a child: the driver stays small, and a child's ru_maxrss
                            # starts from its parent's size when it was forked
                            check = [PY, __file__, "check", str(out), str(n), str(dim)]
                            subprocess.run(check, check=True)
                            remove(out)
                        m = found.setdefault(what, Measure(n, dim, what, [], [], [], note_of(what)))
                        m.walls.append(seconds)
                        m.cpus.append(cpu)
                        m.rss.append(rss)
                        if fixed is not None:
                            m.fixed.append(fixed)
                        record = {"rows": n, "dim": dim, "what": what, "wall": seconds,
                                  "cpu": cpu, "rss": rss, "fixed": fixed}  # fmt: skip
                        with MEASURES.open("a", encoding="utf-8") as log:
                            log.write(json.dumps(record) + "\n")
                        print(f"scale:   {seconds:.1f} s, {cpu:.1f} s CPU, {rss:.0f} MiB",
                              file=sys.stderr)  # fmt: skip
                results += [found[what] for what, _, _ in runs if what in found]
        finally:
            server.stop()
    return results, skipped


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def find(results: list[Measure], rows: int, dim: int, what: str) -> Measure | None:
    return next((m for m in results if (m.rows, m.dim, m.what) == (rows, dim, what)), None)


def targets(results: list[Measure], sizes: list[int], dims: list[int]) -> list[str]:
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    small, big = min(sizes), max(sizes)
    for dim in dims:
        for kind in (".npy", ".parquet"):
            a, b = find(results, small, dim, f"cli {kind}"), find(results, big, dim, f"cli {kind}")
            if a and b and big > small:
                growth = b.rss_mib / a.rss_mib
                lines.append(
                    f"- flat memory, cli {kind} at {dim}: peak RSS at {big:,} rows is "
                    f"{growth:.2f}× the peak at {small:,} (target ≤ 1.2×): {verdict(growth <= 1.2)}"
                )
    for m in results:
        if m.dim == 3072 and m.what.startswith("cli .") and m.what != "cli .jsonl":
            lines.append(
                f"- {m.what} at {m.rows:,} × 3,072: peak RSS {m.rss_mib:.0f} MiB (target ≤ 400 "
                f"MiB): {verdict(m.rss_mib <= 400)}"
            )
    for dim in dims:
        for n in sizes:
            lib = find(results, n, dim, "library")
            for kind in (".npy", ".parquet"):
                cli = find(results, n, dim, f"cli {kind}")
                if lib and cli:
                    r = cli.rate / lib.rate
                    lines.append(
                        f"- cli {kind} vs the library, {n:,} × {dim}: {r:.2f}× its throughput "
                        f"(target ≥ 0.8×): {verdict(r >= 0.8)}"
                    )
    for m in results:
        if m.what == "ray":
            cli = find(results, m.rows, m.dim, "cli .parquet")
            if cli:
                r = m.seconds / cli.seconds
                fixed = ""
                if m.fixed:
                    start = statistics.median(m.fixed)
                    fixed = (
                        f"; of its {m.seconds:.1f} s, `import ray` + `ray.init` + "
                        f"`ray.shutdown`: {start:.1f} s (median; "
                        f"{min(m.fixed):.1f}-{max(m.fixed):.1f}), the rest "
                        f"{(m.seconds - start) / cli.seconds:.2f}× the CLI's time"
                    )
                lines.append(
                    f"- Ray Data vs cli .parquet, {m.rows:,} × {m.dim}: {r:.2f}× its time "
                    f"(target ≤ 1.5×): {verdict(r <= 1.5)}{fixed}"
                )
    return lines


def report(
    results: list[Measure], skipped: list[str], sizes: list[int], dims: list[int], rounds: int
) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count()
    out = [
        BEGIN,
        "## Big jobs: the CLI at scale (`bench/scale.py`, issue 14)",
        "",
        f"Measured {when} at revision {git_revision()}, "
        f"Python {platform.python_version()}, {cpus} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end. Server: `textservice "
        "fake-server` (the project's fake, 0 ms latency) in its own process, one per "
        "dimension; every contender is a child process, side by side in this run, alternating "
        f"from round to round ({rounds} rounds up to 100,000 rows, 1 above; the median wall "
        "time). "
        "CPU: the child's user + system seconds (its descendants included). RSS: the "
        "child's peak resident memory (`ru_maxrss` from `os.wait4`).",
        "",
        "| rows | dim | contender | runs | wall s (median; range) | texts/s | CPU s | "
        "peak RSS MiB |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        what = m.what + (f" ({m.note})" if m.note else "")
        spread = f"; {min(m.walls):.1f}-{max(m.walls):.1f}" if len(m.walls) > 1 else ""
        out.append(
            f"| {m.rows:,} | {m.dim:,} | {what} | {len(m.walls)} | {m.seconds:.1f}{spread} | "
            f"{m.rate:,.0f} | {'n/a' if m.cpu is None else f'{m.cpu:.1f}'} | {m.rss_mib:.0f} |"
        )
    out += ["", "Targets (issue 14):", "", *targets(results, sizes, dims)]
    if skipped:
        out += ["", "Not run here:", "", *(f"- {s}" for s in skipped)]
    out += [
        "",
        "The fake server is the slower side at these rates (one core each for server and "
        "client on this 2-core machine), so throughput ratios near 1 say that the CLI keeps up "
        "with the server; the CPU column is the client's own cost.",
        END,
    ]
    return "\n".join(out) + "\n"


IMAGES_BEGIN, IMAGES_END = "<!-- scale-images:begin -->", "<!-- scale-images:end -->"
IMAGE_MODEL = "models/gemini-embedding-2"
IMAGE_BYTES = 100_000
IMAGE_DIM = 3072
IMAGE_RSS_LIMIT_MIB = 300
_PNG = b"\x89PNG\r\n\x1a\n"


def image_bytes(i: int) -> bytes:
    """Image ``i`` of the folder: 100 KB, a PNG header then deterministic bytes."""
    body = hashlib.shake_256(f"bench image {i}".encode()).digest(IMAGE_BYTES - len(_PNG))
    return _PNG + body


def write_images(count: int) -> Path:
    """A folder of ``count`` images (made once, kept for reruns)."""
    folder = WORK / f"images-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"{i // 1000:03}" / f"{i:06}.png"
        if not path.exists() or path.stat().st_size != IMAGE_BYTES:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(image_bytes(i))
    return folder


def check_images(out: Path, count: int) -> None:
    """The output holds ``count`` rows, the first and last the fake's vectors of the first
    and last image."""
    import numpy as np

    from textservice.testing.vectors import expected_parts_embedding

    rows = np.load(out, mmap_mode="r")
    if rows.shape != (count, IMAGE_DIM):
        raise RuntimeError(f"{out}: shape {rows.shape}, expected ({count}, {IMAGE_DIM})")
    for index in (0, count - 1):
        want = expected_parts_embedding(IMAGE_MODEL, [("image/png", image_bytes(index))])
        if not np.array_equal(rows[index], np.array(want, dtype=np.float32)):
            raise RuntimeError(f"{out}: row {index} is not the fake's vector of image {index}")


def measure_images(count: int, rounds: int) -> Measure:
    folder = write_images(count)
    server = FakeServer(IMAGE_DIM)
    env = {**os.environ, "GOOGLE_API_KEY": "bench"}
    out = WORK / f"images-{count}.npy"
    m = Measure(count, IMAGE_DIM, "cli .npy, images", [], [], [], "")
    try:
        for _ in range(rounds):
            remove(out)
            argv = [PY, "-m", "textservice.cli", "embed", "-m", IMAGE_MODEL, "-i", str(folder),
                    "-o", str(out), "--endpoint", server.target, "--insecure"]  # fmt: skip
            print(f"scale: {count:,} images ...", file=sys.stderr, flush=True)
            seconds, cpu, rss = run_child(argv, env)
            check_images(out, count)
            remove(out)
            m.walls.append(seconds)
            m.cpus.append(cpu)
            m.rss.append(rss)
            print(f"scale:   {seconds:.1f} s, {cpu:.1f} s CPU, {rss:.0f} MiB", file=sys.stderr)
    finally:
        server.stop()
    return m


def images_report(m: Measure, rounds: int) -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    ok = m.rss_mib <= IMAGE_RSS_LIMIT_MIB
    verdict = "met" if ok else "**not met**"
    return "\n".join(
        [
            IMAGES_BEGIN,
            f"## Media through the CLI: {m.rows:,} images of 100 KB from a folder",
            "",
            f"`textservice embed -m {IMAGE_MODEL} -i DIR -o OUT.npy` against `textservice "
            f"fake-server --dimension {IMAGE_DIM}` (its own process), {rounds} round(s); "
            f"textservice {git_revision()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
            f"load average {load} at the end (2 cores, shared with other work: times are "
            "provisional when the load is above 2). Each output checked and removed.",
            "",
            "| target | measured | verdict |",
            "|---|---:|---|",
            f"| peak RSS ≤ {IMAGE_RSS_LIMIT_MIB} MiB | {m.rss_mib:.0f} MiB | {verdict} |",
            "",
            "| images | median wall | images/s | MB/s of images | CPU | peak RSS |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {m.rows:,} | {m.seconds:.1f} s | {m.rate:,.0f} | "
            f"{m.rows * IMAGE_BYTES / 1e6 / m.seconds:.1f} | {m.cpu or 0:.1f} s | "
            f"{m.rss_mib:.0f} MiB |",
            IMAGES_END,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "library":
        child_library(int(args[1]), args[2], int(args[3]))
        return 0
    if args and args[0] == "check":
        check_output(Path(args[1]), int(args[2]), int(args[3]))
        return 0
    if args and args[0] == "ray":
        child_ray(int(args[1]), args[2], args[3], args[4], args[5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dims", default="768,3072")
    parser.add_argument("--ray-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds up to 100,000 rows")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the measurements of a run that stopped"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 rows at 768 only")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--images", type=int, default=None, help="measure N images instead")
    opts = parser.parse_args(args)
    if opts.images is not None:
        WORK.mkdir(parents=True, exist_ok=True)
        m = measure_images(opts.images, opts.rounds)
        section = images_report(m, opts.rounds)
        target = opts.out or (
            RESULTS if opts.images == 2000 else REPO / "bench" / ".work" / "RESULTS-images.md"
        )
        splice(target, section, IMAGES_BEGIN, IMAGES_END)
        print(section)
        return 0
    sizes = [int(s) for s in opts.sizes.split(",")]
    dims = [int(d) for d in opts.dims.split(",")]
    ray_rows: int | None = opts.ray_rows
    partial = (opts.sizes, opts.dims, opts.ray_rows) != ("100000,1000000", "768,3072", 100_000)
    if opts.quick:
        sizes, dims, ray_rows = [2_000, 10_000], [768], 10_000
        opts.rounds = 1
        partial = True
    # Only a full run replaces the section of RESULTS.md.
    out = opts.out or (REPO / "bench" / ".work" / "RESULTS-quick.md" if partial else RESULTS)
    WORK.mkdir(parents=True, exist_ok=True)
    results, skipped = measure(sizes, dims, ray_rows, opts.rounds, reuse=opts.reuse)
    section = report(results, skipped, sizes, dims, opts.rounds)
    splice(out, section, BEGIN, END)
    print(section)
    print(f"scale: written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
