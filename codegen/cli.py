"""``python -m codegen generate|check``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen.errors import CodegenError
from codegen.golden import update_golden
from codegen.outputs import build_all
from codegen.paths import Layout
from codegen.pipeline import compare, write


def _layout(args: argparse.Namespace) -> Layout:
    default = Layout.default()
    return Layout(
        protos=Path(args.protos) if args.protos else default.protos,
        package=Path(args.package) if args.package else default.package,
    )


def _generate(layout: Layout) -> int:
    written = write(build_all(layout), layout.package)
    print(f"generated {len(written)} files under {layout.package}")
    return 0


def _check(layout: Layout) -> int:
    problems = compare(build_all(layout), layout.package)
    if problems:
        print("generated code is stale; run `make generate`:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("generated code is up to date")
    return 0


def _golden() -> int:
    written = update_golden()
    print(f"rendered {len(written)} golden files under tests/golden")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the generator's command line; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "command",
        choices=["generate", "check", "golden"],
        help="generate/check the package; golden: re-render tests/golden from tests/protos",
    )
    parser.add_argument("--protos", help="proto root (default: protos/)")
    parser.add_argument("--package", help="textservice package folder (default: src/textservice)")
    args = parser.parse_args(argv)
    layout = _layout(args)
    try:
        if args.command == "golden":
            return _golden()
        return _generate(layout) if args.command == "generate" else _check(layout)
    except CodegenError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 2
