"""What embedding costs: Google's published prices and rate-limit tiers, in one table.

``textservice embed --dry-run`` estimates a job's price and time from these; ``--price`` (or
``TEXTSERVICE_PRICE_PER_MILLION``) overrides the price. The figures are Google's, as published
in 2025-2026, and change: check them against the pages cited before relying on an estimate.

- Prices (https://ai.google.dev/gemini-api/docs/pricing, paid tier, input tokens; embeddings
  have no output tokens): gemini-embedding-001 $0.15 per million input tokens (also in
  Google's launch post, developers.googleblog.com/en/gemini-embedding-available-gemini-api);
  gemini-embedding-2 $0.20 per million text tokens. Google's page was not reachable from
  here; that figure is the pricing page's as quoted by several 2026 write-ups that agree
  (tokencost.app/blog/gemini-embedding-2-pricing, embeddingcost.com/google, Vercel's and
  OpenRouter's gateways). The pricing page offers the Batch API at a "50% cost reduction".
  The free tier costs nothing, within its quota. Media tokens are priced per modality
  (images $0.45, audio $6.50, video $12.00 a million, same sources) and are not estimated
  here: ``--dry-run`` prices text tokens only.
- Rate limits (https://ai.google.dev/gemini-api/docs/rate-limits): embeddings on the free tier
  100 requests a minute and 1,000 a day; on tier 1, 3,000 requests and 1,000,000 tokens a
  minute. Reports from 2026 say BatchEmbedContents counts each item as a request, so a
  request quota is taken as a quota of texts.

A standard-library-only leaf above ``_profiles`` (a model's family names its row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from textservice._profiles import profile_for

__all__ = [
    "BATCH_SHARE",
    "PRICES",
    "QUOTA_TIERS",
    "QuotaTier",
    "days_at",
    "minutes_at",
    "price_for",
]

PRICES: Mapping[str, float] = MappingProxyType(
    {
        "gemini-embedding-001": 0.15,
        "gemini-embedding-2": 0.20,
    }
)
"""US dollars per million input tokens, online, by model family (see the module docstring)."""

BATCH_SHARE = 0.5
"""Batch mode's price as a share of the online price."""


def price_for(model: str) -> float | None:
    """``model``'s online price in US dollars per million input tokens (``None``: not in
    the table, e.g. the retired embedding-gecko models or a tuned model)."""
    return PRICES.get(profile_for(model).family)


@dataclass(frozen=True)
class QuotaTier:
    """One of Google's published rate-limit tiers for embeddings."""

    name: str
    texts_per_minute: float
    """Requests a minute, each text of a batch call counted as one."""
    tokens_per_minute: float | None = None
    texts_per_day: float | None = None


QUOTA_TIERS: tuple[QuotaTier, ...] = (
    QuotaTier("free tier", 100, texts_per_day=1_000),
    QuotaTier("tier 1", 3_000, tokens_per_minute=1_000_000),
)
"""The tiers a dry run estimates time at when no quota is configured."""


def minutes_at(
    *,
    texts: int,
    tokens: int,
    calls: int,
    requests_per_minute: float | None = None,
    texts_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
) -> float | None:
    """Minutes a job of ``calls`` calls carrying ``texts`` texts and ``tokens`` tokens takes
    at these per-minute limits, the slowest of them deciding (``None``: no limit given)."""
    bounds = [
        count / limit
        for count, limit in (
            (calls, requests_per_minute),
            (texts, texts_per_minute),
            (tokens, tokens_per_minute),
        )
        if limit is not None and limit > 0
    ]
    return max(bounds) if bounds else None


def days_at(texts: int, tier: QuotaTier) -> int | None:
    """Days a tier's daily quota spreads ``texts`` over (``None``: it has none)."""
    if tier.texts_per_day is None:
        return None
    return math.ceil(texts / tier.texts_per_day)
