"""Path templates of ``google.api.http`` rules: ``/v1beta/{model=models/*}:embedContent``.

A template is literal text and variables ``{field.path=pattern}`` (``{field}`` means
``{field=*}``); a pattern's segments are literals, ``*`` (one segment) or ``**`` (any number
of them). ``expand`` fills the variables from a request's values (``None`` when a value does
not fit its pattern: the caller tries the next binding), ``match`` reads them back from a
path (the fake's side). Both sides escape and unescape values the same way: ``/`` stays as it
is (a resource name's segments), everything else not safe in a path is percent-encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, unquote

__all__ = ["PathTemplate", "parse"]

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:=([^{}]*))?\}")


def _pattern_regex(pattern: str) -> str:
    parts = []
    for segment in pattern.split("/"):
        if segment == "**":
            parts.append(r".+")
        elif segment == "*":
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(segment))
    return "/".join(parts)


@dataclass(frozen=True)
class PathTemplate:
    """A parsed path template."""

    text: str
    variables: tuple[str, ...]
    """The field paths the template binds (``model``, ``tuned_model.name``), in order."""
    _pieces: tuple[str | int, ...]
    """Literal text, and the index of a variable where its value goes."""
    _value_patterns: tuple[re.Pattern[str], ...]
    _path_regex: re.Pattern[str]

    def expand(self, values: dict[str, str]) -> str | None:
        """The path with ``values`` (by field path) filled in; ``None`` when a value is
        missing or does not fit its variable's pattern."""
        out = []
        for piece in self._pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = values.get(self.variables[piece])
            if not value or self._value_patterns[piece].fullmatch(value) is None:
                return None
            out.append(quote(value, safe="/"))
        return "".join(out)

    def match(self, path: str) -> dict[str, str] | None:
        """The variables' values in ``path`` (unescaped), or ``None`` if it does not fit."""
        found = self._path_regex.fullmatch(path)
        if found is None:
            return None
        return {name: unquote(found.group(i + 1)) for i, name in enumerate(self.variables)}


@cache
def parse(text: str) -> PathTemplate:
    """``text`` parsed (``ValueError`` for a template with stray braces)."""
    pieces: list[str | int] = []
    variables: list[str] = []
    values: list[re.Pattern[str]] = []
    regex = []
    position = 0
    for found in _VARIABLE.finditer(text):
        literal = text[position : found.start()]
        pieces.append(literal)
        regex.append(re.escape(literal))
        pattern = found.group(2) or "*"
        value_regex = _pattern_regex(pattern)
        pieces.append(len(variables))
        variables.append(found.group(1))
        values.append(re.compile(value_regex))
        regex.append(f"({value_regex})")
        position = found.end()
    tail = text[position:]
    pieces.append(tail)
    regex.append(re.escape(tail))
    if any("{" in p or "}" in p for p in pieces if isinstance(p, str)):
        raise ValueError(f"malformed path template {text!r}")
    return PathTemplate(
        text, tuple(variables), tuple(p for p in pieces if p != ""), tuple(values),
        re.compile("".join(regex)),
    )  # fmt: skip
