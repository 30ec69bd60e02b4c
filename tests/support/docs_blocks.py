"""The code blocks, headings and links of the project's Markdown (README.md, docs/*.md), read
with markdown-it-py, and what the HTML comment before a block says about running it.

A fenced block's language is ``python`` or ``sh`` (code: run by tests/project/test_docs_examples.py,
or marked ``<!-- not run: REASON -->``) or ``text`` (output, logs: never run). A comment
right before a code block is its directive:

- ``<!-- not run: REASON -->``: left out, for the reason given;
- ``<!-- run: retired models -->``: python against a fake that still serves the models
  Google retired (the others run against one serving only today's);
- ``<!-- run: pytest -->``: python that is a test module, run by pytest;
- ``<!-- run: rest -->``: python or sh against a fake's REST face (``TEXTSERVICE_ENDPOINT``
  names it), for what is served over REST only (Batch mode), its jobs done in a second.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

REPO = Path(__file__).resolve().parents[2]
CODE_LANGUAGES = ("python", "sh")
TEXT_LANGUAGE = "text"
RUN_MODES = ("retired models", "pytest", "rest")
"""What ``<!-- run: MODE -->`` may say."""

_PARSER = MarkdownIt("commonmark").enable("table")
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)


def documents(repo: Path = REPO) -> list[Path]:
    """The README and every file of ``docs/``."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    doc: str
    """The document's path relative to the repository, e.g. ``docs/api.md``."""
    line: int
    """The line of its opening fence (1-based)."""
    language: str
    code: str
    section: str
    """The anchor of the heading it is under (``""`` before the first)."""
    ordinal: int
    """Its index among the blocks of its language under that heading."""
    directive: str | None
    """The text of the HTML comment right before it, stripped, if any."""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def key(self) -> str:
        """Names the block for a check of its own: ``docs/api.md#api[1]``."""
        return f"{self.doc}#{self.section}[{self.ordinal}]"

    @property
    def not_run(self) -> str | None:
        """The reason it is not run, if its directive gives one."""
        kind, _, value = (self.directive or "").partition(":")
        return value.strip() if kind.strip() == "not run" else None

    @property
    def mode(self) -> str:
        """What ``<!-- run: MODE -->`` says, else ``""``: run the usual way."""
        kind, _, value = (self.directive or "").partition(":")
        return value.strip() if kind.strip() == "run" else ""

    def problem(self) -> str | None:
        """Why the block breaks the rules of this module's docstring, if it does."""
        if self.language == TEXT_LANGUAGE:
            return f"{self.where}: a text block takes no directive" if self.directive else None
        if self.language not in CODE_LANGUAGES:
            shown = self.language or "no language"
            return f"{self.where}: a block with {shown}: write python, sh or text"
        if self.directive is None:
            return None
        if self.not_run is not None:
            return None if self.not_run else f"{self.where}: `not run:` needs a reason"
        if self.mode in RUN_MODES and (self.mode != "pytest" or self.language == "python"):
            return None
        return f"{self.where}: unknown directive {self.directive!r}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _text(inline: Token) -> str:
    return "".join(c.content for c in inline.children or () if c.type in ("text", "code_inline"))


def _parse(path: Path) -> list[Token]:
    return _PARSER.parse(path.read_text(encoding="utf-8"))


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file (a repeated one numbered as GitHub does)."""
    tokens = _parse(path)
    seen: Counter[str] = Counter()
    found = set()
    for opening, inline in pairwise(tokens):
        if opening.type == "heading_open":
            name = slug(_text(inline))
            found.add(f"{name}-{seen[name]}" if seen[name] else name)
            seen[name] += 1
    return found


def blocks(path: Path, repo: Path = REPO) -> list[Block]:
    """The fenced blocks of one document, in order."""
    doc = path.relative_to(repo).as_posix()
    section = ""
    ordinals: Counter[tuple[str, str]] = Counter()
    found = []
    previous: Token | None = None
    tokens = _parse(path)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            section = slug(_text(tokens[i + 1]))
        if token.type == "fence":
            language = token.info.split()[0] if token.info.strip() else ""
            comment = None
            if previous is not None and previous.type == "html_block":
                match = _COMMENT.fullmatch(previous.content.strip())
                comment = " ".join(match.group(1).split()) if match else None
            assert token.map is not None
            found.append(
                Block(
                    doc=doc,
                    line=token.map[0] + 1,
                    language=language,
                    code=token.content,
                    section=section,
                    ordinal=ordinals[section, language],
                    directive=comment,
                )
            )
            ordinals[section, language] += 1
        if token.type != "inline" and not token.type.endswith("_close"):
            previous = token
    return found


def all_blocks(repo: Path = REPO) -> list[Block]:
    return [block for path in documents(repo) for block in blocks(path, repo)]


def links(path: Path) -> list[tuple[int, str]]:
    """``(line, target)`` of every link in a Markdown file."""
    found = []
    for token in _parse(path):
        if token.type != "inline" or token.map is None:
            continue
        for child in token.children or ():
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str):
                found.append((token.map[0] + 1, href))
    return found


def broken_link(source: Path, target: str) -> str | None:
    """Why a link from ``source`` does not resolve, or ``None`` (web links are not checked)."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target):
        return None
    file, _, anchor = target.partition("#")
    resolved = (source.parent / file).resolve() if file else source
    if not resolved.exists():
        return f"no file {file}"
    if anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
        return f"no heading #{anchor} in {resolved.name}"
    return None


def expected_output(code: str) -> str | None:
    """What a python block prints, if it says: the ``# `` comment lines that end a block that
    calls ``print``, each one line of output."""
    lines = code.rstrip("\n").splitlines()
    trailing: list[str] = []
    while lines and lines[-1].startswith("# "):
        trailing.insert(0, lines.pop()[2:])
    if not trailing or not any("print(" in line for line in lines):
        return None
    return "".join(f"{line}\n" for line in trailing)


def commands(code: str) -> list[str]:
    """The shell commands of an ``sh`` block: continued lines joined; blank lines and lines
    holding only a comment dropped."""
    joined = re.sub(r"\\\n\s*", "", code)
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]
