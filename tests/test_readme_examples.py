"""The README's Python examples run as written (against the fake server where they need one)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.fake_helpers import sent_contents

from textservice.client import API_KEY_ENV, ENDPOINT_ENV
from textservice.testing import FakeServer

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parent.parent


def _blocks(name: str) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / name).read_text(encoding="utf-8"), re.S)
    assert blocks, f"no python example in {name}"
    return blocks


def _run(
    code: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_testing_your_code_example_passes(tmp_path: Path) -> None:
    (tmp_path / "test_user_example.py").write_text(_blocks("docs/testing.md")[0])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b3 passed\b", done.stdout), done.stdout[-3000:]


# Stands in for Google today: the key is checked, today's embedding model is served and the
# TextService's models are gone.
_TODAY = """
import textservice
from textservice.testing import FakeServer

_fake = FakeServer(
    api_key="...", known_models=["models/gemini-embedding-2", "models/gemini-embedding-001"]
)
_configure = textservice.configure
textservice.configure = lambda api_key=None, **options: _configure(
    api_key, channel_factory=_fake.channel, **options
)
textservice.configure("...")
"""


def test_first_call_example_embeds_with_todays_model(tmp_path: Path) -> None:
    (first,) = _blocks("README.md")
    assert "embed_content" in first and "models/gemini-embedding-2" in first
    done = _run(_TODAY + first, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "2 vectors of 3072 dimensions\n", done.stdout


def test_the_which_model_example_embeds_an_image_a_pdf_and_a_captioned_image(
    tmp_path: Path,
) -> None:
    (example,) = _blocks("docs/models.md")
    (tmp_path / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"c" * 100)
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7\n" + b"p" * 100)
    check = (
        "\ncalls = [c.request for c in _fake.calls if c.method == 'BatchEmbedContents']"
        "\nsent = [[p.text for p in r.content.parts] for r in calls[0].requests]"
        "\nassert sent == [[None], [None], ['A cat on a sofa', None]], sent"
        "\nassert _fake.calls[-1].request.content.parts[0].text == "
        "'task: search result | query: a sleeping cat'"
        "\nassert _fake.calls[-1].request.task_type is None\n"
    )
    done = _run(_TODAY + example + check, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "3 vectors\n3072 dimensions\n", done.stdout


def test_the_legacy_example_reports_a_retired_model(tmp_path: Path) -> None:
    retired = _blocks("docs/api.md")[1]
    done = _run(_TODAY + retired, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("NotFound "), done.stdout
    assert "embedding-gecko-001" in done.stdout


def test_pointing_a_client_at_the_fake_example_runs(tmp_path: Path) -> None:
    blocks = _blocks("docs/testing.md")
    assert len(blocks) == 2
    assert "channel_factory=fake.channel" in blocks[1] and "fake.in_memory()" in blocks[1]
    assert "channel_factory=fake.http_transport" in blocks[1] and "serve_rest()" in blocks[1]
    done = _run(blocks[1], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # one call each way (three over gRPC, two over REST), all answered
    assert done.stdout == "5 calls\n", done.stdout
    assert "Warning" not in done.stderr, done.stderr[-3000:]  # -X dev: no unclosed resources


@pytest.mark.network
def test_the_framework_examples_run_unchanged_against_the_fake_the_environment_names(
    tmp_path: Path,
) -> None:
    blocks = _blocks("docs/adapters.md")
    assert len(blocks) == 2
    assert "TextServiceEmbeddings" in blocks[0] and "TextServiceEmbedding(" in blocks[1]
    fake = FakeServer()
    with fake.serve() as address:
        env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        env[ENDPOINT_ENV] = f"http://{address.target}"
        for block in blocks:
            printed = [line[2:] for line in block.splitlines() if line.startswith("# ")]
            done = _run(block, tmp_path, env)
            assert done.returncode == 0, done.stderr[-3000:]
            assert done.stdout.splitlines() == printed
    # the default model, gemini-embedding-2, takes the task in the text
    sent = [(row[0], row[1], row[4]) for row in sent_contents(fake)]
    query = ("EmbedContent", "task: search result | query: Which animal purrs?", 768)
    documents = [
        ("BatchEmbedContents", f"title: none | text: {text}", 768)
        for text in ["Cats purr.", "Cars need fuel."]
    ]
    assert sent == [*documents, query, query, *documents, query]


def test_the_api_examples_run_as_written(tmp_path: Path) -> None:
    today, _retired, legacy, _clients = _blocks("docs/api.md")
    done = _run(_TODAY + today, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # The legacy TextService: a fake that still serves its retired models.
    served = """
import textservice
from textservice.testing import FakeServer

_fake = FakeServer()
textservice.configure(api_key="...", channel_factory=_fake.channel)
"""
    done = _run(served + legacy, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
