"""How the CLI lists many lines on stderr: the first :data:`SHOWN`, then one line counting the
rest (``... and 1,234 more``): bad records, long texts, failed Batch mode requests."""

from __future__ import annotations

__all__ = ["SHOWN", "and_more"]

SHOWN = 20
"""Lines listed on stderr, at most; the rest are counted."""


def and_more(count: int, listed: int, what: str = "") -> str:
    """``... and N more`` (then `` what``, e.g. ``bad line(s)``) for the ``count - listed``
    lines not listed; ``""`` when every one is."""
    rest = count - listed
    if rest <= 0:
        return ""
    return f"... and {rest:,} more {what}".rstrip()
