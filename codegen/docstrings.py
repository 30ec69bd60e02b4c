"""Docstrings made from proto comments: assembled, escaped, wrapped to the line length."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable

_QUOTES = re.compile(r'"{3,}|"\Z')

LINE_LENGTH = 100
"""The repository's ruff line length; docstring lines are wrapped to stay within it."""


def escape(text: str) -> str:
    """Text safe inside a triple-quoted literal: backslashes doubled, every quote of a run of
    three or more escaped, and a final quote escaped so it cannot merge with the closing ones."""
    text = text.replace("\\", "\\\\")
    return _QUOTES.sub(lambda match: '\\"' * len(match.group()), text)


def _wrap(line: str, width: int, follow: str | None = None) -> list[str]:
    """``line`` broken at spaces to fit ``width``; continuation lines get ``follow`` (by default
    the line's own indentation). Words longer than the width are left whole."""
    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(
        line,
        width=width,
        subsequent_indent=lead if follow is None else follow,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [line]


def render(text: str, indent: int) -> str:
    """The inside of a docstring literal at ``indent`` spaces: escaped, wrapped, indented.

    One line stays on the line of its quotes; more lines end with a newline and the indent,
    so the closing quotes get a line of their own.
    """
    body = escape(textwrap.dedent(text).strip("\n").rstrip())
    if not body:
        return ""
    width = max(LINE_LENGTH - indent, 40)
    first, *more = body.split("\n")
    lines = _wrap(first.rstrip(), width - 3)  # the opening quotes share the first line
    lines += [wrapped for line in more for wrapped in _wrap(line.rstrip(), width)]
    if len(lines) == 1:
        return lines[0]
    pad = " " * indent
    rest = [pad + line if line else "" for line in lines[1:]]
    return "\n".join([lines[0], *rest]) + "\n" + pad


def section(title: str, entries: Iterable[tuple[str, str]], width: int) -> str:
    """A Google-style section (``Args:``): each entry's text under its name, within ``width``."""
    out = [f"{title}:"]
    for name, text in entries:
        first, *more = (text.strip() or "(no description in the protos)").split("\n")
        out += _wrap(f"    {name}: {first}", width, follow="        ")
        out += [w for line in more for w in (_wrap(f"        {line}", width) if line else [""])]
    return "\n".join(out)


def block(title: str, text: str, width: int) -> str:
    """A Google-style section of free text (``Returns:``), indented and wrapped to ``width``."""
    lines = (text.strip() or "(no description in the protos)").split("\n")
    body = [w for line in lines for w in (_wrap(f"    {line}", width) if line else [""])]
    return "\n".join([f"{title}:", *body])


def join(*parts: str) -> str:
    """Non-empty parts separated by blank lines."""
    return "\n\n".join(p.strip("\n") for p in parts if p.strip())
