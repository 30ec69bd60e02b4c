"""Runs the docs' python blocks in one process, as a user would run each (a script of its own,
the default client made from the environment), against fakes served on local ports.

``python docs_runner.py PLAN RESULTS``: PLAN is JSON, ``{"workspace": folder, "blocks":
[{"key", "doc", "line", "code", "mode"}]}``; each block runs in a fresh copy of the workspace
with ``TEXTSERVICE_ENDPOINT`` naming today's fake (mode ``"retired models"``: one that still
serves the TextService's models; mode ``"rest"``: today's models on a REST face, Batch mode
jobs done in a second). RESULTS gets, per key, what it printed, its traceback (or
``null``) and the EmbedContent-like requests the fakes received while it ran.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import shutil
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import textservice
from textservice.client import ENDPOINT_ENV
from textservice.testing import FakeServer

TODAY = ["models/gemini-embedding-2", "models/gemini-embedding-001"]
"""What the API serves today; the retired models are NOT_FOUND, as there."""

REST_BATCH_SECONDS = 1.0
"""How long a Batch mode job of the ``rest`` fake runs (the API's take up to 24 hours)."""


def sent(fake: FakeServer, since: int) -> list[list[Any]]:
    """``[method, parts, task type, title, dimensionality]`` per embedding request (a batch's
    one by one), a part as its text or ``<mime/type>``; other calls as ``[method]``."""
    rows: list[list[Any]] = []
    for call in fake.calls[since:]:
        if call.method not in ("EmbedContent", "BatchEmbedContents"):
            rows.append([call.method])
            continue
        requests = call.request.requests if call.method == "BatchEmbedContents" else [call.request]
        for r in requests:
            parts = [
                p.text if p.text is not None else f"<{p.inline_data.mime_type}>"
                for p in r.content.parts
            ]
            task = r.task_type.name if r.task_type is not None else None
            rows.append([call.method, parts, task, r.title, r.output_dimensionality])
    return rows


def run(block: dict[str, Any], cwd: Path) -> tuple[str, str, str | None]:
    """Run one block in ``cwd``: what it printed on stdout and stderr, and its traceback."""
    # Line numbers of the document in tracebacks.
    code = compile("\n" * block["line"] + block["code"], block["doc"], "exec")
    out, err = io.StringIO(), io.StringIO()
    failed = None
    redirect = contextlib.redirect_stdout(out), contextlib.redirect_stderr(err)
    with redirect[0], redirect[1], contextlib.chdir(cwd), warnings.catch_warnings():
        warnings.simplefilter("always", ResourceWarning)
        try:
            exec(code, {"__name__": "__main__"})
        except BaseException:  # reported, with the other blocks' results
            failed = traceback.format_exc()
        gc.collect()  # unclosed sockets, loops and files warn now, as the block's own
    return out.getvalue(), err.getvalue(), failed


def main(plan_path: str, results_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    workspace = Path(plan["workspace"])
    fakes = {
        "": FakeServer(known_models=TODAY),
        "retired models": FakeServer(),
        "rest": FakeServer(known_models=TODAY, batch_seconds=REST_BATCH_SECONDS),
    }
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        targets = {
            mode: stack.enter_context(fake.serve_rest() if mode == "rest" else fake.serve()).target
            for mode, fake in fakes.items()
        }
        for n, block in enumerate(plan["blocks"]):
            fake = fakes[block["mode"]]
            os.environ[ENDPOINT_ENV] = f"http://{targets[block['mode']]}"
            textservice.configure()  # a fresh default client, as in a new process
            cwd = workspace.parent / f"{workspace.name}-{n}"
            shutil.copytree(workspace, cwd)
            since = len(fake.calls)
            stdout, stderr, failed = run(block, cwd)
            results[block["key"]] = {
                "stdout": stdout,
                "stderr": stderr,
                "error": failed,
                "sent": sent(fake, since),
            }
        textservice.configure().close()
    Path(results_path).write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
