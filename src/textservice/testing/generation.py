"""The fake's text answers: deterministic completions and token counts.

``expected_completion`` and ``expected_token_count`` are what the fake's GenerateText and
CountTextTokens return, so tests can assert exact values; ``within_limit`` is how the fake
cuts an embedding input over its model's token limit. They are simple on purpose (the fake
has no model and no real tokenizer): a token is a run of word characters or a single other
non-space character. CountTokens (GenerativeService) counts by the same rule: its
``total_tokens`` is the sum of ``expected_token_count`` over every text part of the contents
(``expected_content_token_count``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar, cast

from textservice._checks import is_int

T = TypeVar("T")

_TOKEN = re.compile(r"\w+|[^\w\s]")

DEFAULT_CANDIDATE_COUNT = 1
MAX_CANDIDATE_COUNT = 8


def expected_token_count(text: str) -> int:
    """The ``token_count`` the fake's CountTextTokens returns for a prompt ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return sum(1 for _ in _TOKEN.finditer(text))


def expected_content_token_count(*texts: str) -> int:
    """The ``total_tokens`` the fake's CountTokens returns for contents whose text parts are
    ``texts`` (each part counted on its own, then summed)."""
    return sum(expected_token_count(text) for text in texts)


def first_tokens(text: str, limit: int) -> str:
    """``text`` cut just after its ``limit``-th token (whole text if it has fewer)."""
    if limit <= 0:
        return ""
    for count, match in enumerate(_TOKEN.finditer(text), start=1):
        if count == limit:
            return text[: match.end()]
    return text


def expected_completion(
    model: str, prompt: str, index: int = 0, max_output_tokens: int | None = None
) -> str:
    """The ``output`` of candidate ``index`` (0-based) of the fake's GenerateText.

    It names the model and the candidate and echoes the prompt, cut to ``max_output_tokens``
    tokens when the request sets that.
    """
    for name, value in (("model", model), ("prompt", prompt)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not is_int(index) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    text = f"Completion {index + 1} by {model}: {prompt}"
    if max_output_tokens is not None:
        text = first_tokens(text, max_output_tokens)
    return text


def within_limit(parts: Sequence[T], limit: int | None) -> tuple[list[T], int]:
    """``parts`` (texts and media) with their texts cut, in order, to ``limit`` tokens in all
    (``None``: no limit), as the fake embeds an input over its model's limit; and how many
    tokens the texts held before."""
    held = sum(expected_token_count(p) for p in parts if isinstance(p, str))
    if limit is None or held <= limit:
        return list(parts), held
    left = limit
    out: list[T] = []
    for part in parts:
        if isinstance(part, str):
            cut = first_tokens(part, left)
            left -= expected_token_count(cut)
            out.append(cast(T, cut))
        else:
            out.append(part)
    return out, held
