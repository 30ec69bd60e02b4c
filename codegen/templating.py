"""The one Jinja environment of the generator, with every filter registered here.

``StrictUndefined`` turns a typo in a template into an error instead of an empty string;
``trim_blocks``/``lstrip_blocks`` keep block tags from leaving blank lines and indentation.
Templates live in ``codegen/templates``: one per output file; partials and macros start with ``_``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from codegen import docstrings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def py_literal(value: object) -> str:
    """Python source for a str, int, float, bool, None, or a tuple or dict of them
    (deterministic: a dict's items in its own order)."""
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, tuple):
        items = ", ".join(py_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, dict):
        pairs = ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items())
        return "{" + pairs + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def docstring(text: str, indent: int = 0) -> str:
    """The escaped, wrapped inside of a docstring at ``indent`` (see ``docstrings.render``)."""
    return docstrings.render(text, indent)


def comment(text: str, indent: int = 0) -> str:
    """``text`` as ``#`` comment lines at ``indent`` spaces."""
    pad = " " * indent
    return "\n".join(f"{pad}# {line}".rstrip() for line in text.strip().split("\n"))


def py_text(text: str, width: int = 60) -> str:
    """A long ``str`` literal as adjacent literals of at most ``width`` characters, broken
    after spaces (ruff cannot break a literal to fit the line length; it can lay these out)."""
    words = text.split(" ")
    pieces: list[str] = []
    for word in words:
        if pieces and len(pieces[-1]) + len(word) < width:
            pieces[-1] += " " + word
        else:
            pieces.append(word if not pieces else " " + word)
    return " ".join(repr(piece) for piece in pieces)


def keyword_argument(name: str) -> str:
    """``name=name``: passing a parameter on under its own name."""
    return f"{name}={name}"


def message_ref(cls: str) -> str:
    """``_f.MessageRef(_pb, "Model")`` for ``_pb.Model``: a facade names its message classes
    without importing them (``textservice._transport.methods``), so importing it loads no
    proto module."""
    module, dot, name = cls.rpartition(".")
    if not dot or not module.isidentifier() or not name.isidentifier():
        raise ValueError(f"not a module's class: {cls!r}")
    return f"_f.MessageRef({module}, {py_literal(name)})"


@functools.cache
def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    """The configured environment: strict undefined, trimmed blocks, our filters.

    One a process (per templates folder): Jinja compiles a template once per environment, and
    a generation renders each facade template once per API version (compiling them was 40% of
    a generation's time, made again for each version). The loader still reloads a template
    whose file changed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["py"] = py_literal
    env.filters["docstring"] = docstring
    env.filters["comment"] = comment
    env.filters["keyword_argument"] = keyword_argument
    env.filters["py_text"] = py_text
    env.filters["message_ref"] = message_ref
    return env
