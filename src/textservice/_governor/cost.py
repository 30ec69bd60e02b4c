"""What one call costs against a quota: one request, its texts, their estimated tokens."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from textservice._checks import is_int

Unit = Literal["requests", "texts", "tokens"]
"""What a per-minute quota counts."""

UNITS: tuple[Unit, ...] = ("requests", "texts", "tokens")

BYTES_PER_TOKEN = 4
"""The token estimate: a text counts ``ceil(len(text.encode("utf-8")) / 4)`` tokens."""


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` is counted as: its UTF-8 bytes / ``BYTES_PER_TOKEN``, rounded up.

    Gemini's tokenizer gives about four characters of English per token; counting bytes
    rather than characters errs on the safe side (more tokens) for other scripts. The
    fake's tokens-per-minute quota counts with this same rule, so tests are exact.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


@dataclass(frozen=True)
class Cost:
    """One call's cost: ``requests`` (1), ``texts`` and estimated ``tokens`` it carries."""

    requests: int = 1
    texts: int = 0
    tokens: int = 0

    def __post_init__(self) -> None:
        for unit in UNITS:
            value = getattr(self, unit)
            if not is_int(value):
                raise TypeError(f"Cost.{unit} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"Cost.{unit} must be >= 0, got {value}")

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> Cost:
        """The cost of one request carrying ``texts`` (tokens by ``estimate_tokens``)."""
        count = tokens = 0
        for text in texts:
            count += 1
            tokens += estimate_tokens(text)
        return cls(1, count, tokens)

    def amount(self, unit: Unit) -> int:
        """The cost in ``unit``."""
        value: int = getattr(self, unit)
        return value
