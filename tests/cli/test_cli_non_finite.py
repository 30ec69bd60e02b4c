"""``textservice embed`` against a server that answers NaN or an infinity: exit 1 naming it,
nothing non-finite written (JSONL, ``.npy``, Parquet), and the ``.part`` resumes to the right
vectors once the server answers well. Today's model (BatchEmbedContents) and a gecko model
(TextService BatchEmbedText)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import results_in, run_cli, texts, write_lines

from textservice.testing import (
    FakeServer,
    ServerAddress,
    expected_content_embedding,
    expected_embedding,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"
DIM = 8
ITEMS = texts(400)
BAD = 310


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="nan-key", embedding_dimension=DIM)
    with fake.serve() as address:
        yield fake, address


def _expected(model: str) -> np.ndarray:
    if model == GEMINI:
        rows = [expected_content_embedding(model, t, dimension=DIM) for t in ITEMS]
    else:
        rows = [expected_embedding(model, t, DIM) for t in ITEMS]
    return np.asarray(rows, dtype=np.float32)


def _read(out: Path) -> np.ndarray:
    if out.suffix == ".jsonl":
        text = out.read_text(encoding="utf-8")
        assert "nan" not in text.lower() and "inf" not in text.lower()
        rows = [json.loads(line)["embedding"] for line in text.splitlines()]
        return np.asarray(rows, dtype=np.float32)
    if out.suffix == ".npy":
        loaded: np.ndarray = np.load(out)
        return loaded
    import pyarrow.parquet as pq

    return np.asarray(pq.read_table(out).column("embedding").to_pylist(), dtype=np.float32)


@pytest.mark.parametrize(
    ("model", "output", "value"),
    [
        (GEMINI, "out.jsonl", math.nan),
        (GEMINI, "out.npy", math.inf),
        (GEMINI, "out.parquet", -math.inf),
        (GECKO, "out.jsonl", -math.inf),
        (GECKO, "out.npy", math.nan),
    ],
)
def test_a_non_finite_vector_stops_the_run_and_the_rerun_resumes(
    tmp_path: Path,
    served: tuple[FakeServer, ServerAddress],
    model: str,
    output: str,
    value: float,
) -> None:
    fake, address = served
    fake.reset()
    source = write_lines(tmp_path / "in.txt", ITEMS)
    out = tmp_path / output
    args = ["embed", "-m", model, "-i", str(source), "-o", str(out), "--batch-size", "50"]
    args += ["--endpoint", address.target, "--insecure"]
    env = {"GOOGLE_API_KEY": "nan-key"}
    fake.faults.bad_values(value, text=ITEMS[BAD], at=-1, times=1)

    failed = run_cli(args, env=env)
    assert failed.returncode == 1, failed.stderr
    assert "holding NaN or an infinity" in failed.stderr
    assert "Traceback" not in failed.stderr
    part = out.with_name(out.name + ".part")
    assert not out.exists() and part.exists()
    kept = results_in(part)
    assert kept <= BAD  # nothing at or after the bad vector was written
    if output.endswith(".jsonl"):
        assert "nan" not in part.read_text().lower() and "inf" not in part.read_text().lower()

    resumed = run_cli(args, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert not part.exists()
    got = _read(out)
    assert np.isfinite(got).all()
    assert np.array_equal(got, _expected(model))
