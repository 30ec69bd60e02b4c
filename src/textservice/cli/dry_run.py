"""``textservice embed --dry-run``: what a run would send, what it would cost and how long it
would take, without one embedding call.

The input is read as a run reads it (bad lines counted, not fatal); with ``--output``, the
records whose vectors an earlier output already holds are left out, as a run would reuse them
(:mod:`.rerun`, read only); with ``--on-long truncate`` or ``skip``, the texts over the
model's limit are cut or left out first, as a run would send them. The tokens of the others are
counted (:mod:`.tokens`): their sum, the longest text, and those over the model's limit (listed,
with ``--on-long error``, instead of stopping); then the calls, the time at the
configured quota (``--rpm``, ``--texts-per-minute``, ``--tpm``, times ``--quota-share``) or at
Google's published tiers, and the price from ``textservice._pricing`` (or ``--price``), online
and in Batch mode. With ``--batch-mode``, how its job would be sent instead of the calls and
their time: inline or as a file, its size and its lines (each distinct text once).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, cast

from textservice._governor import estimate_tokens
from textservice._pricing import BATCH_SHARE, QUOTA_TIERS, days_at, minutes_at, price_for
from textservice._profiles import profile_for
from textservice.batches import request_json
from textservice.batches.requests import InputPlan, RequestLines, plan_input
from textservice.cli.connect import PER_MINUTE, Connection, flag_of
from textservice.cli.content_keys import ContentKeys
from textservice.cli.digests import VectorSettings
from textservice.cli.inputs import Record
from textservice.cli.rerun import reuse_plan
from textservice.cli.reuse import left_to_embed
from textservice.cli.services import EmbedOptions, content_item
from textservice.cli.sources import InputCheck, Source
from textservice.cli.tokens import Counter, fits, sent_text

__all__ = ["LongText", "TokenReport", "dry_run", "format_report", "measure"]

_CHUNK = 2000  # texts counted at a time
_GROUP = 100  # texts that surely fit the limit, counted by one CountTokens call
_SHOWN = 10


@dataclass(frozen=True)
class LongText:
    """A text over the model's limit: its input line and its tokens."""

    line: int
    tokens: int


@dataclass
class TokenReport:
    """What the texts to send hold, in tokens."""

    texts: int = 0
    """Records to send (media files included)."""
    media: int = 0
    """Of those, media files (their tokens are not counted)."""
    tokens: int = 0
    estimated: int = 0
    """Their tokens by the estimate (what ``--tpm`` paces by)."""
    longest: LongText | None = None
    longest_by_bytes: bool = False
    """``longest`` is the longest text in UTF-8 bytes of those counted in groups (another
    of them may hold a few more tokens)."""
    over: int = 0
    """Texts over the limit."""
    shown: list[LongText] = field(default_factory=list)
    """The first of those."""
    reused: int = 0
    """Records left out: an earlier output holds their vectors (the caller's count)."""
    done: int = 0
    """Records left out: already in the output or its ``.part`` (the caller's count)."""


def measure(records: Iterator[Record], counter: Counter, *, task_type: str | None) -> TokenReport:
    """Count the tokens of ``records`` (those to send, as sent), a chunk of texts at a time:
    those that surely fit the limit in groups, the others one by one (see :mod:`.tokens`)."""
    report = TokenReport()
    limit = profile_for(counter.model).input_tokens
    shortest_fit: tuple[int, str] | None = None  # the longest text that surely fits, by bytes
    while chunk := list(islice(records, _CHUNK)):
        group: list[str] = []
        groups: list[list[str]] = []
        lines, suspects = [], []
        for record in chunk:
            report.texts += 1
            text = sent_text(record, counter.model, task_type)
            if text is None:
                report.media += 1
                continue
            report.estimated += estimate_tokens(text)
            if limit is not None and not fits(text, limit):
                lines.append(record.line)
                suspects.append(text)
                continue
            if shortest_fit is None or len(text.encode("utf-8")) > len(shortest_fit[1].encode()):
                shortest_fit = (record.line, text)
            group.append(text)
            if len(group) == _GROUP:
                groups.append(group)
                group = []
        if group:
            groups.append(group)
        report.tokens += sum(counter.count_groups(groups))
        for line, tokens in zip(lines, counter.count(suspects), strict=True):
            report.tokens += tokens
            _longer(report, LongText(line, tokens))
            if limit is not None and tokens > limit:
                report.over += 1
                if len(report.shown) < _SHOWN:
                    report.shown.append(LongText(line, tokens))
    ceiling = limit if limit is not None else math.inf
    if shortest_fit is not None and (report.longest is None or report.longest.tokens < ceiling):
        # A text counted in a group may be the longest: count the longest of those by bytes
        # alone too (by tokens another might be longer, by at most its bytes).
        found = LongText(shortest_fit[0], counter.count([shortest_fit[1]])[0])
        if report.longest is None or found.tokens > report.longest.tokens:
            report.longest, report.longest_by_bytes = found, True
    return report


def _longer(report: TokenReport, text: LongText) -> None:
    if report.longest is None or text.tokens > report.longest.tokens:
        report.longest = text


def _money(dollars: float) -> str:
    if 0 < dollars < 0.01:
        return "under $0.01"
    return f"${dollars:,.2f}"


def _duration(minutes: float) -> str:
    if minutes <= 0:
        return "0 s"
    seconds = max(1, math.ceil(minutes * 60))
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min {rest % 60} s" if rest >= 60 else f"{rest} s"


def _times(report: TokenReport, calls: int, connection: Connection) -> list[str]:
    """The time lines: at the configured limits, else at Google's published tiers."""
    share = connection.option("quota_share")
    given = {name: connection.option(name) for name in PER_MINUTE}
    if any(v is not None for v in given.values()):
        limits = {k: (v * share if v is not None else None) for k, v in given.items()}
        minutes = minutes_at(texts=report.texts, tokens=report.estimated, calls=calls, **limits)
        shown = ", ".join(
            f"{flag_of(name)} {value:g}" for name, value in given.items() if value is not None
        )
        if share != 1:
            shown += f", {flag_of('quota_share')} {share:g}"
        assert minutes is not None
        return [f"{_duration(minutes)} at {shown} (the client's own limits)"]
    lines = []
    for tier in QUOTA_TIERS:
        minutes = minutes_at(
            texts=report.texts,
            tokens=report.tokens,
            calls=calls,
            texts_per_minute=tier.texts_per_minute,
            tokens_per_minute=tier.tokens_per_minute,
        )
        assert minutes is not None
        rates = f"{tier.texts_per_minute:,.0f} texts/min"
        if tier.tokens_per_minute is not None:
            rates += f", {tier.tokens_per_minute:,.0f} tokens/min"
        text = f"{_duration(minutes)} at Google's {tier.name} ({rates}"
        days = days_at(report.texts, tier)
        if tier.texts_per_day is not None:
            text += f", {tier.texts_per_day:,.0f} a day"
        text += ")"
        if days is not None and days > 1:
            text += f": its daily quota spreads it over {days:,} days"
        lines.append(text)
    lines.append("(no quota given: --rpm, --texts-per-minute or --tpm set your own)")
    return lines


def _prices(report: TokenReport, model: str, price: float | None) -> list[str]:
    per_million = price if price is not None else price_for(model)
    if per_million is None:
        return [f"unknown for {model} (pass --price USD, per million input tokens)"]
    online = report.tokens / 1e6 * per_million
    source = "--price" if price is not None else "textservice's table, Google's 2026 prices"
    lines = [
        f"{_money(online)} online, at ${per_million:g} per million input tokens ({source}; "
        "the free tier costs nothing, within its quota)",
        f"{_money(online * BATCH_SHARE)} in Batch mode (half price, done within 24 hours: "
        "--batch-mode)",
    ]
    if report.media:
        lines.append(f"media files ({report.media:,}) are not counted or priced")
    return lines


def format_report(
    name: str,
    report: TokenReport,
    counter: Counter,
    *,
    batch_size: int,
    connection: Connection,
    bad_lines: int,
    price: float | None,
    reused_from: str | None = None,
    batch: InputPlan | None = None,
) -> str:
    """The dry run's report on one input (``batch``: how a ``--batch-mode`` job would be
    sent)."""
    model = counter.model
    limit = profile_for(model).input_tokens
    calls = math.ceil(report.texts / batch_size) if report.texts else 0
    texts = f"{report.texts:,}"
    notes = []
    if report.done:
        notes.append(f"{report.done:,} more already in {reused_from}")
    if report.reused:
        notes.append(f"{report.reused:,} more reused from {reused_from}")
    if bad_lines:
        notes.append(f"{bad_lines:,} bad line{'' if bad_lines == 1 else 's'} left out")
    if notes:
        texts += f" ({'; '.join(notes)})"
    rows = [
        ("texts", [texts]),
        ("tokens", [f"{report.tokens:,} ({counter.method()})"]),
    ]
    if report.longest is not None:
        longest = report.longest
        by = " (the longest in bytes)" if report.longest_by_bytes else ""
        rows.append(("longest", [f"line {longest.line:,}: {longest.tokens:,} tokens{by}"]))
    if limit is not None:
        over = f"{report.over:,} text{'' if report.over == 1 else 's'} over {limit:,} tokens"
        if report.shown:
            lines = ", ".join(f"{t.line:,} ({t.tokens:,})" for t in report.shown)
            more = (
                f", and {report.over - len(report.shown):,} more"
                if report.over > len(report.shown)
                else ""
            )
            over += f": lines {lines}{more}; a run stops on them unless --on-long truncate|skip"
        rows.append(("over limit", [over]))
    if batch is None:
        rows.append(("calls", [f"{calls:,} of up to {batch_size} texts"]))
        rows.append(("time", _times(report, calls, connection)))
    elif batch.lines == 0:
        rows.append(("batch mode", ["nothing to send: no job"]))
    else:
        rows.append(("batch mode", [f"one job, sent {batch.describe()}"]))
        rows.append(
            ("time", ["within 24 hours (Batch mode's target; its quota is not the online one)"])
        )
    rows.append(("price", _prices(report, model, price)))
    out = [f"{name}: {model} (dry run: no embedding call was made)"]
    for label, values in rows:
        out.append(f"  {label + ':':<12}{values[0]}")
        out.extend(f"  {'':<12}{value}" for value in values[1:])
    return "\n".join(out)


class _Counted:
    """A sink that keeps only how much was written."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def batch_plan(
    records: Iterator[Record], options: EmbedOptions, settings: VectorSettings
) -> InputPlan:
    """How ``--batch-mode`` would send ``records``' requests (each distinct key once; the
    requests are written as a run writes them, and counted, not kept)."""
    keys = ContentKeys(settings)
    requests = request_json(
        options.model,
        task_type=options.task_type,
        output_dimensionality=options.output_dimensionality,
    )
    lines = RequestLines(requests, cast(IO[bytes], _Counted()))
    seen: set[bytes] = set()
    for record in records:
        key = keys.key(record)
        if key not in seen:
            seen.add(key)
            lines.add(key.hex(), content_item(record), f"line {record.line}")
    profile = profile_for(options.model)
    dimension = options.output_dimensionality or profile.default_dimension or 3072
    return plan_input(lines.lines, lines.bytes, dimension)


def dry_run(
    source: Source,
    check: InputCheck,
    options: EmbedOptions,
    counter: Counter,
    *,
    settings: VectorSettings,
    connection: Connection,
    output_path: str | None,
    price: float | None,
    batch_size: int,
    batch_mode: bool = False,
) -> str:
    """The dry run of ``source`` (see the module docstring) with ``options``, its tokens
    counted by ``counter`` (the caller's to close): its report; with ``batch_mode``, how its
    job would be sent (its requests written, not sent)."""
    done, reuse = reuse_plan(output_path, source, check, settings=settings)

    def left() -> Iterator[Record]:
        return left_to_embed(source.records(check), done, reuse)

    try:
        report = measure(left(), counter, task_type=options.task_type)
        plan = batch_plan(left(), options, settings) if batch_mode else None
    finally:
        if reuse is not None:
            reuse.close()
    report.done, report.reused = done, reuse.reused if reuse is not None else 0
    return format_report(
        source.name,
        report,
        counter,
        batch_size=batch_size,
        connection=connection,
        bad_lines=check.bad_count,
        price=price,
        reused_from=output_path,
        batch=plan,
    )
