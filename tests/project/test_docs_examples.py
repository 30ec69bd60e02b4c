"""Every code block of the README and docs/ runs as written (or says why not), and every link
between them resolves. The rules a block follows: ``support.docs_blocks``; how python blocks
run: ``support.docs_runner``; sh blocks: ``support.docs_shell``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli_helpers import cli_env, run_cli
from support.docs_blocks import (
    CODE_LANGUAGES,
    REPO,
    Block,
    all_blocks,
    broken_link,
    commands,
    documents,
    expected_output,
    links,
)
from support.docs_runner import REST_BATCH_SECONDS
from support.docs_shell import Shell
from support.docs_workspace import make_workspace
from support.paths import TESTS

from textservice.client import ENDPOINT_ENV
from textservice.testing import FakeServer

BLOCKS = all_blocks()
RUNNER = TESTS / "support" / "docs_runner.py"


def _to_run(language: str, *modes: str) -> list[Block]:
    return [
        b
        for b in BLOCKS
        if b.language == language and b.not_run is None and b.problem() is None and b.mode in modes
    ]


PYTHON_BLOCKS = _to_run("python", "", "retired models", "rest")
PYTEST_BLOCKS = _to_run("python", "pytest")
SH_BLOCKS = _to_run("sh", "", "rest")


# -- the rules --------------------------------------------------------------------------------


def test_every_code_block_runs_or_says_why_not() -> None:
    problems = [problem for block in BLOCKS if (problem := block.problem())]
    assert not problems, "\n".join(problems)
    run = {b.where for b in PYTHON_BLOCKS + PYTEST_BLOCKS + SH_BLOCKS}
    code = [b for b in BLOCKS if b.language in CODE_LANGUAGES]
    assert [b.where for b in code if b.where not in run and b.not_run is None] == []
    assert len(run) >= 15  # the blocks were found at all


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = [
        f"{path.relative_to(REPO)}:{line}: {target}: {why}"
        for path in [*documents(), REPO / "CHANGELOG.md"]
        for line, target in links(path)
        if (why := broken_link(path, target))
    ]
    assert not broken, "\n".join(broken)


HOSTILE_DOC = """\
# Title

```bash
echo a language the tests do not run
```

```
no language
```

<!-- not run: -->
```python
print("no reason")
```

<!-- run: on the moon -->
```sh
textservice models
```

<!-- run: pytest -->
```sh
textservice models
```

<!-- not run: output -->
```text
a text block takes no directive
```

- a list item

  <!-- not run: indented under a list item -->
  ```python
  print("fine")
  ```

See [the API](api.md#no-such-heading), [nothing](missing.md) and [here](#title).
"""


def test_the_rules_catch_blocks_and_links_that_would_escape(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Read me\n")
    doc = tmp_path / "docs" / "x.md"
    doc.write_text(HOSTILE_DOC)
    (tmp_path / "docs" / "api.md").write_text("# API\n\n## Clients\n")
    found = all_blocks(tmp_path)
    assert [b.problem() for b in found] == [
        "docs/x.md:3: a block with bash: write python, sh or text",
        "docs/x.md:7: a block with no language: write python, sh or text",
        "docs/x.md:12: `not run:` needs a reason",
        "docs/x.md:17: unknown directive 'run: on the moon'",
        "docs/x.md:22: unknown directive 'run: pytest'",
        "docs/x.md:27: a text block takes no directive",
        None,
    ]
    assert found[-1].not_run == "indented under a list item"
    assert found[-1].code == 'print("fine")\n'
    assert [broken_link(doc, target) for _, target in links(doc)] == [
        "no heading #no-such-heading in api.md",
        "no file missing.md",
        None,
    ]


def test_expected_output_is_the_comments_that_end_a_printing_block() -> None:
    assert expected_output('print("a")\nprint(2)\n# a\n# 2\n') == "a\n2\n"
    assert expected_output("x = 1\n# just a remark\n") is None
    assert expected_output('print("a")  # a\n') is None
    block = "a \\\n    --b c  # note\n\n  # only a comment\nd\n"
    assert commands(block) == ["a --b c  # note", "d"]


def test_the_two_commands_are_make_targets_and_ci_runs_the_second() -> None:
    first = next(b for b in BLOCKS if b.doc == "README.md")
    assert [c.split("#")[0].strip() for c in commands(first.code)] == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == "make test"


# -- python -----------------------------------------------------------------------------------

Result = dict[str, Any]
GEMINI_2 = "models/gemini-embedding-2"


def _which_model(result: Result) -> None:
    # Three items (an image, a PDF, a caption with its image) in one batch, then a query whose
    # task went into its text (gemini-embedding-2 ignores the task_type field).
    assert result["sent"] == [
        ["BatchEmbedContents", ["<image/png>"], None, None, None],
        ["BatchEmbedContents", ["<application/pdf>"], None, None, None],
        ["BatchEmbedContents", ["A cat on a sofa", "<image/png>"], None, None, None],
        ["EmbedContent", ["task: search result | query: a sleeping cat"], None, None, None],
    ]


def _retired(result: Result) -> None:
    assert result["stdout"].startswith("NotFound "), result["stdout"]
    assert "embedding-gecko-001" in result["stdout"]


def _documents_then_queries(documents: int, queries: int) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        texts = ["Cats purr.", "Cars need fuel."]
        document = [
            ["BatchEmbedContents", [f"title: none | text: {text}"], None, None, 768]
            for text in texts
        ]
        query = ["EmbedContent", ["task: search result | query: Which animal purrs?"]]
        assert result["sent"] == document * documents + [[*query, None, None, 768]] * queries

    return check


CHECKS: dict[str, Callable[[Result], None]] = {
    "docs/models.md#which-model[0]": _which_model,
    "docs/api.md#api[1]": _retired,
    # the default model, gemini-embedding-2, takes the task in the text
    "docs/adapters.md#langchain-and-llamaindex[0]": _documents_then_queries(1, 2),
    "docs/adapters.md#langchain-and-llamaindex[1]": _documents_then_queries(1, 1),
}
"""What a block does besides running, by its key (``Block.key``)."""


@pytest.mark.subprocess
@pytest.mark.network
def test_the_python_blocks_run(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "workspace")
    made = run_cli(["embed", "--fake", "-i", "docs.txt", "-o", "vectors.parquet"], cwd=workspace)
    assert made.returncode == 0, made.stderr  # what the Parquet readers' example reads
    plan = {
        "workspace": str(workspace),
        "blocks": [
            {"key": b.key, "doc": b.doc, "line": b.line, "code": b.code, "mode": b.mode}
            for b in PYTHON_BLOCKS
        ],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    env = cli_env({"GOOGLE_API_KEY": "docs-dummy-key"})
    done = subprocess.run(
        [sys.executable, RUNNER, tmp_path / "plan.json", tmp_path / "results.json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results: dict[str, Result] = json.loads((tmp_path / "results.json").read_text())
    assert set(CHECKS) <= set(results), set(CHECKS) - set(results)
    failures = []
    for block in PYTHON_BLOCKS:
        result = results[block.key]
        try:
            assert result["error"] is None, result["error"]
            assert "ResourceWarning" not in result["stderr"], result["stderr"]
            expected = expected_output(block.code)
            if expected is not None:
                assert result["stdout"] == expected
            if block.key in CHECKS:
                CHECKS[block.key](result)
        except AssertionError as error:
            failures.append(f"{block.where} ({block.key}): {error}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.subprocess
@pytest.mark.parametrize("block", PYTEST_BLOCKS, ids=lambda b: b.where)
def test_the_test_module_blocks_pass(block: Block, tmp_path: Path) -> None:
    (tmp_path / "test_from_the_docs.py").write_text(block.code)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    tests = len(re.findall(r"^def test_", block.code, re.M))
    assert re.search(rf"\b{tests} passed\b", done.stdout), done.stdout[-3000:]


# -- sh ---------------------------------------------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.network
@pytest.mark.parametrize("block", SH_BLOCKS, ids=lambda b: b.where)
def test_the_sh_block_runs(block: Block, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "workspace")
    bin_folder = str(Path(sys.executable).parent)  # `textservice` and `python`, as installed
    # every model, the retired ones too; `run: rest` blocks: its REST face, short Batch mode jobs
    fake = FakeServer(batch_seconds=REST_BATCH_SECONDS)
    with fake.serve_rest() if block.mode == "rest" else fake.serve() as address:
        env = cli_env(
            {
                "PATH": bin_folder + os.pathsep + os.environ.get("PATH", ""),
                "GOOGLE_API_KEY": "docs-dummy-key",
                ENDPOINT_ENV: f"http://{address.target}",
            }
        )
        failures = Shell(workspace, env).run_block(commands(block.code))
    assert not failures, "\n".join(failures)
