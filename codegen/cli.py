"""``python -m codegen generate|check|accept-api|golden``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen import import_layers, public_api
from codegen.errors import CodegenError
from codegen.golden import update_golden
from codegen.outputs import build_all
from codegen.paths import Layout
from codegen.pipeline import GeneratedTree, compare, write


def _layout(args: argparse.Namespace) -> Layout:
    default = Layout.default()
    if args.api:
        api_list: Path | None = Path(args.api)
    else:  # a package elsewhere is not checked against this repository's list
        api_list = None if args.package else default.api_list
    return Layout(
        protos=Path(args.protos) if args.protos else default.protos,
        package=Path(args.package) if args.package else default.package,
        api_list=api_list,
    )


def _print_diff(lines: list[str]) -> None:
    for line in lines:
        print(f"  {line.rstrip()}", file=sys.stderr)


def _record_additions(tree: GeneratedTree, api_list: Path) -> None:
    """Add new functions to the list; warn (with the diff) about changed or removed ones."""
    accepted = public_api.read_list(api_list)
    found = public_api.signatures(tree.files)
    changes = public_api.changes(accepted, found)
    if changes.added:
        api_list.write_text(public_api.with_additions(accepted, found), encoding="utf-8")
        print(f"recorded {len(changes.added)} new public functions in {api_list.name}")
    if changes.breaking:
        print(
            f"warning: the public API changed ({len(changes.changed)} changed, "
            f"{len(changes.removed)} removed); `make check-generated` fails until you review "
            "it and run `make accept-api`:",
            file=sys.stderr,
        )
        _print_diff(public_api.diff(accepted, found, api_list.name))


def _generate(layout: Layout) -> int:
    tree = build_all(layout)
    written = write(tree, layout.package)
    print(f"generated {len(written)} files under {layout.package}")
    if layout.api_list is not None:
        _record_additions(tree, layout.api_list)
    return 0


def _check(layout: Layout) -> int:
    tree = build_all(layout)
    problems = compare(tree, layout.package)
    if problems:
        print("generated code is stale; run `make generate`:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
    api_diff: list[str] = []
    if layout.api_list is not None:
        accepted = public_api.read_list(layout.api_list)
        api_diff = public_api.diff(
            accepted, public_api.signatures(tree.files), layout.api_list.name
        )
        if api_diff:
            print(
                f"the generated public API differs from {layout.api_list.name} (a renamed "
                "argument breaks callers); review the diff, then run `make accept-api`:",
                file=sys.stderr,
            )
            _print_diff(api_diff)
    if problems or api_diff:
        return 1
    print("generated code is up to date")
    return 0


def _accept_api(layout: Layout) -> int:
    if layout.api_list is None:
        raise CodegenError("accept-api with --package needs --api FILE")
    found = public_api.signatures(build_all(layout).files)
    changes = public_api.changes(public_api.read_list(layout.api_list), found)
    layout.api_list.write_text(public_api.render(found), encoding="utf-8")
    print(
        f"accepted the public API in {layout.api_list.name}: {len(changes.added)} added, "
        f"{len(changes.changed)} changed, {len(changes.removed)} removed"
    )
    return 0


def _lint_imports(layout: Layout) -> int:
    return import_layers.lint(layout.package)


def _golden() -> int:
    written = update_golden()
    print(f"rendered {len(written)} golden files under tests/golden")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the generator's command line; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "command",
        choices=["generate", "check", "accept-api", "golden", "lint-imports"],
        help="generate/check the package; accept-api: rewrite the list of public signatures "
        "from the generated facades; golden: re-render tests/golden from tests/protos; "
        "lint-imports: check the import layers of pyproject.toml, facades filled in",
    )
    parser.add_argument("--protos", help="proto root (default: protos/)")
    parser.add_argument("--package", help="textservice package folder (default: src/textservice)")
    parser.add_argument(
        "--api",
        help="the list of accepted public signatures (default: codegen/public_api.txt; "
        "none with --package)",
    )
    args = parser.parse_args(argv)
    layout = _layout(args)
    commands = {
        "generate": _generate,
        "check": _check,
        "accept-api": _accept_api,
        "lint-imports": _lint_imports,
    }
    try:
        if args.command == "golden":
            return _golden()
        return commands[args.command](layout)
    except CodegenError as exc:
        print(f"codegen: error: {exc}", file=sys.stderr)
        return 2
