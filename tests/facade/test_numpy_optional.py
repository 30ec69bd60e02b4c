"""numpy is optional: ``import textservice`` never imports it, and ``output="numpy"`` without
it fails at once with an error saying ``pip install numpy`` (each case runs in a
fresh interpreter, since this one has numpy loaded)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.subprocess


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_and_list_embedding_do_not_import_numpy() -> None:
    done = _run(
        """
        import sys
        import textservice, textservice.v1beta2, textservice.v1beta3, textservice.cli.app
        from textservice.testing import FakeServer

        fake = FakeServer(embedding_dimension=4)
        model = "models/embedding-gecko-001"
        with textservice.Client(channel_factory=fake.channel) as client:
            result = textservice.generate_embeddings(model, ["a"], client=client)
            batches = list(textservice.iter_embeddings(model, ["b"], client=client))
        assert len(result["embedding"][0]) == 4 and len(batches) == 1
        print("numpy" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_numpy_output_without_numpy_names_the_extra_and_sends_nothing() -> None:
    done = _run(
        """
        import asyncio, sys
        sys.modules["numpy"] = None  # as if numpy were not installed
        import textservice
        from textservice import v1beta2
        from textservice.testing import FakeServer

        fake = FakeServer()
        model = "models/embedding-gecko-001"
        with textservice.Client(channel_factory=fake.channel) as client:
            iterate_async = textservice.iter_embeddings_async
            calls = [
                lambda: textservice.generate_embeddings(model, "a", client=client, output="numpy"),
                lambda: v1beta2.generate_embeddings(model, ["a"], client=client, output="numpy"),
                lambda: asyncio.run(
                    textservice.generate_embeddings_async(model, "a", client=client, output="numpy")
                ),
                lambda: textservice.iter_embeddings(model, ["a"], client=client, output="numpy"),
                lambda: iterate_async(model, ["a"], client=client, output="numpy"),
            ]
            for call in calls:
                try:
                    call()
                except ImportError as exc:
                    print(exc)
                else:
                    raise AssertionError("no ImportError")
            assert fake.count() == 0, fake.count()
            # the list output needs no numpy
            assert textservice.generate_embeddings(model, "a", client=client)["embedding"]
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 5
    assert all("pip install numpy" in line for line in lines), lines
