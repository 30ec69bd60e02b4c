"""``import textservice`` side by side: this tree, a git revision, and this tree unsplit.

``python bench/import_compare.py [--base REV] [--runs N]`` times ``python -X importtime -c
"import textservice"`` (the cumulative microseconds of its last line) for each source tree,
the trees interleaved run by run so machine load hits them alike, and prints a Markdown table
(median, min - max) plus how many generated ``_proto`` modules each import loads:

- ``this tree``: ``src/`` as it is;
- ``base``: ``src/`` of ``--base`` (default ``main``), from ``git archive``;
- ``this tree, _proto unsplit``: this tree with ``_proto`` regenerated without
  ``codegen/split.py`` (betterproto2's one module per package), to show what the split saves.

Every tree runs with the same interpreter and installed dependencies (this venv's).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROBE = (
    "import sys, textservice, json; "
    "print(json.dumps([textservice.__file__, "
    "sum(m.startswith('textservice._proto') for m in sys.modules)]))"
)


def _base_tree(revision: str, out: Path) -> Path:
    data = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(out, filter="data")
    return out / "src"


def _unsplit_tree(out: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from codegen import pipeline
    from codegen.outputs import build_all
    from codegen.paths import Layout

    package = out / "src" / "textservice"
    shutil.copytree(
        REPO / "src" / "textservice", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    # the name the pipeline calls, replaced for this one build (vars(): pipeline imports it
    # from codegen.split rather than exporting it)
    names = vars(pipeline)
    original = names["split_packages"]
    names["split_packages"] = lambda modules, packages: dict(modules)  # betterproto2's layout
    try:
        tree = build_all(Layout(protos=REPO / "protos", package=package))
    finally:
        names["split_packages"] = original
    pipeline.write(tree, package)
    return out / "src"


def _once(src: Path) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    path, modules = json.loads(done.stdout)
    if not Path(path).is_relative_to(src):
        raise RuntimeError(f"imported {path}, not the tree under {src}")
    last = [line for line in done.stderr.splitlines() if line.endswith("| textservice")][-1]
    return int(last.split("|")[1]) / 1e6, modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="textservice-import-") as tmp:
        trees = {
            "this tree": REPO / "src",
            f"base ({args.base})": _base_tree(args.base, Path(tmp) / "base"),
            "this tree, _proto unsplit": _unsplit_tree(Path(tmp) / "unsplit"),
        }
        for src in trees.values():  # compile the bytecode once, outside the timing
            _once(src)
        times: dict[str, list[float]] = {name: [] for name in trees}
        modules: dict[str, int] = {}
        for _ in range(args.runs):
            for name, src in trees.items():
                seconds, modules[name] = _once(src)
                times[name].append(seconds)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.base], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    print(f"`import textservice`, {args.runs} runs each, interleaved (base {revision}):\n")
    print("| tree | median | min - max | `_proto` modules loaded |")
    print("|---|---|---|---|")
    for name, values in times.items():
        print(
            f"| {name} | {statistics.median(values):.3f} s | {min(values):.3f} s - "
            f"{max(values):.3f} s | {modules[name]} |"
        )


if __name__ == "__main__":
    main()
