"""Tokens before sending: counting them, and the texts over the model's limit.

- **Exact counts** come from CountTokens (GenerativeService, v1beta) on the texts as they will
  be sent (with their instruction text, for a model that takes the task in the text). A text
  of at most ``LIMIT`` UTF-8 bytes cannot be over the model's limit of ``LIMIT`` tokens (a
  token is at least one byte): such texts are counted in groups, up to 100 texts in one call
  (its contents), which gives their sum. Each longer text is counted by a call of its own, so
  those over the limit, and the longest, are known exactly. Calls run ``--concurrency`` at a
  time under the client's rate governor (CountTokens has its own quota key; ``--rpm``,
  ``--texts-per-minute`` and ``--tpm``, the embedding job's limits, do not apply to it), and
  every count is cached on disk (:class:`TokenCache`: a text's, or a group's under the texts
  it holds), so a second dry run, or the run after it, asks again for nothing. A model
  CountTokens refuses falls back to the estimate, saying so.
- **The estimate** (``--estimate-tokens``, no call at all): ``ceil(UTF-8 bytes / 4)``, the rule
  the client's ``--tpm`` paces by (``textservice._governor.estimate_tokens``); Google's tokens
  guide puts a token at about four characters of English, so it overcounts other scripts.
- **Over the limit, before a run** (``--on-long``): a text of at most ``LIMIT`` UTF-8 bytes
  cannot be over the model's limit of ``LIMIT`` tokens (a token is at least one byte), so only
  longer ones are counted: exactly (the cache, else CountTokens), or by the estimate with
  ``--estimate-tokens``. ``truncate`` cuts such a text to fit: by the estimate, to ``4 x LIMIT``
  bytes; exactly, in proportion to its count and checked by CountTokens until it fits.

The cache is an SQLite file, ``tokens.sqlite3``, in ``$TEXTSERVICE_CACHE_DIR``, else
``$XDG_CACHE_HOME/textservice``, else ``~/.cache/textservice``: one row per server, model and
text (its BLAKE2b-128 digest; the text itself is not kept) with its count (the server is
part of the key: the fake counts its own way). Removing it only costs calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from textservice._governor import estimate_tokens
from textservice._profiles import profile_for
from textservice.cli.connect import PER_MINUTE, Connection, client_default, client_or_exit
from textservice.cli.inputs import Record
from textservice.client import Client

__all__ = [
    "CACHE_ENV",
    "Counter",
    "TokenCache",
    "cache_path",
    "close_counter",
    "cut_to_fit",
    "fits",
    "make_counter",
    "sent_text",
]

CACHE_ENV = "TEXTSERVICE_CACHE_DIR"
"""The environment variable naming the folder of the token cache."""


def cache_path() -> Path:
    """Where the token cache is (see the module docstring)."""
    folder = os.environ.get(CACHE_ENV)
    if folder:
        return Path(folder) / "tokens.sqlite3"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "textservice" / "tokens.sqlite3"


def sent_text(record: Record, model: str, task_type: str | None) -> str | None:
    """The text ``record`` is sent as (``None``: a media file, not counted)."""
    if record.file is not None:
        return None
    instruction = profile_for(model).instruction(task_type)
    return record.text if instruction is None else instruction(record.text, record.title)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class TokenCache:
    """Token counts by model and text, on disk (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counts (model TEXT NOT NULL, text BLOB NOT NULL, "
            "tokens INTEGER NOT NULL, PRIMARY KEY (model, text))"
        )

    def get(self, model: str, texts: Sequence[str]) -> dict[str, int]:
        """The counts it holds of ``texts`` for ``model`` (a server and model)."""
        found: dict[str, int] = {}
        by_digest = {_digest(t): t for t in texts}
        keys = list(by_digest)
        for start in range(0, len(keys), 500):  # SQLite's limit on parameters is 999+
            chunk = keys[start : start + 500]
            rows = self._db.execute(
                f"SELECT text, tokens FROM counts WHERE model = ? AND text IN "
                f"({', '.join('?' * len(chunk))})",
                [model, *chunk],
            )
            for digest, tokens in rows:
                found[by_digest[digest]] = tokens
        return found

    def put(self, model: str, counts: Iterable[tuple[str, int]]) -> None:
        """Keep these counts of ``model``."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO counts VALUES (?, ?, ?)",
                [(model, _digest(t), n) for t, n in counts],
            )

    def close(self) -> None:
        """Close the file."""
        self._db.close()


@dataclass
class Counter:
    """Counts tokens of one model's texts: exactly (``client``), or by the estimate."""

    model: str
    client: Client | None = None
    """``None``: the estimate (``--estimate-tokens``), unless ``opener`` makes one."""
    cache: TokenCache | None = None
    opener: Callable[[], tuple[Client, TokenCache]] | None = None
    """Makes the client and the cache when the first text is to be counted exactly (so a
    run without long texts makes neither)."""
    server: str = "api"
    """Whose counts they are, part of the cache's key (the fake counts its own way)."""
    concurrency: int = field(default_factory=lambda: client_default("max_concurrency"))
    """CountTokens calls in flight at once."""
    calls: int = 0
    """CountTokens calls made."""
    cached: int = 0
    """Distinct texts whose count came from the cache."""
    fallback: str | None = None
    """Why exact counting gave way to the estimate, if it did."""

    @property
    def exact(self) -> bool:
        """Whether counts come from CountTokens."""
        return (self.client is not None or self.opener is not None) and self.fallback is None

    def method(self) -> str:
        """How the counts were made, for the user."""
        if not self.exact and self.fallback is None:
            return "--estimate-tokens: UTF-8 bytes / 4, rounded up"
        if self.fallback is not None:
            return f"estimated (UTF-8 bytes / 4): {self.fallback}"
        return (
            f"CountTokens: {self.calls:,} call{'' if self.calls == 1 else 's'}, "
            f"{self.cached:,} cached"
        )

    def count(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens (each distinct text counted once, by a call of its own)."""
        if not self.exact:
            return [estimate_tokens(t) for t in texts]
        found = self._exact("", {t: [t] for t in texts})
        if found is None:
            return [estimate_tokens(t) for t in texts]
        return [found[t] for t in texts]

    def count_groups(self, groups: Sequence[Sequence[str]]) -> list[int]:
        """Each group's tokens in all: one call per group, its texts the call's contents."""
        if not self.exact:
            return [sum(estimate_tokens(t) for t in group) for group in groups]
        keyed = {json.dumps(list(g), ensure_ascii=False): list(g) for g in groups}
        found = self._exact("groups", keyed)
        if found is None:
            return [sum(estimate_tokens(t) for t in group) for group in groups]
        return [found[json.dumps(list(g), ensure_ascii=False)] for g in groups]

    def _exact(self, kind: str, contents: dict[str, list[str]]) -> dict[str, int] | None:
        """The count of each key's contents, from the cache or CountTokens (``None``: it
        failed, and the estimate takes over)."""
        if self.client is None and self.opener is not None:
            self.client, self.cache = self.opener()
        scope = f"{self.server}|{self.model}" + (f"|{kind}" if kind else "")
        keys = list(contents)
        known = self.cache.get(scope, keys) if self.cache is not None else {}
        self.cached += len(known)
        missing = {k: contents[k] for k in keys if k not in known}
        if missing:
            try:
                counted = asyncio.run(self._count_tokens(missing))
            except Exception as exc:
                self.fallback = f"CountTokens failed ({type(exc).__name__}: {exc})"
                return None
            known.update(counted)
            if self.cache is not None:
                self.cache.put(scope, counted.items())
        return known

    async def _count_tokens(self, contents: dict[str, list[str]]) -> dict[str, int]:
        from textservice.v1beta import count_tokens_async

        assert self.client is not None
        gate = asyncio.Semaphore(self.concurrency)

        async def one(key: str, texts: list[str]) -> tuple[str, int]:
            async with gate:
                found = await count_tokens_async(self.model, texts, client=self.client)
            self.calls += 1
            return key, int(found["total_tokens"])

        tasks = [asyncio.ensure_future(one(k, v)) for k, v in contents.items()]
        try:
            return dict(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)


def fits(text: str, limit: int) -> bool:
    """Whether ``text`` surely fits ``limit`` tokens without counting (a token is at least
    one UTF-8 byte)."""
    return len(text) <= limit and len(text.encode("utf-8")) <= limit


def cut_to_fit(
    text: str, budget: int, counter: Counter, count: Callable[[str], int] | None = None
) -> str:
    """The longest prefix of ``text`` found to hold at most ``budget`` tokens: by the
    estimate, ``4 x budget`` UTF-8 bytes; exactly, cut in proportion to its count and counted
    again until it fits."""
    if budget <= 0:
        return ""
    if not counter.exact:
        return text.encode("utf-8")[: 4 * budget].decode("utf-8", "ignore")
    measure = count or (lambda t: counter.count([t])[0])
    tokens = measure(text)
    cut = text
    while tokens > budget:
        size = max(1, int(len(cut) * budget / tokens * 0.98))
        cut = cut[: min(size, len(cut) - 1)]
        tokens = measure(cut)
    return cut


def make_counter(
    model: str, connection: Connection, *, estimate: bool, concurrency: int
) -> Counter:
    """A counter for ``model``: the estimate, or CountTokens through a client of its own and
    the cache, both made when first needed (close them with :func:`close_counter`)."""
    if estimate:
        return Counter(model)
    # --rpm, --texts-per-minute and --tpm are the embedding job's: CountTokens has a quota of
    # its own, which the client learns from the server's refusals as it goes.
    options = {k: v for k, v in connection.options.items() if k not in PER_MINUTE}
    counting = dataclasses.replace(connection, options=options)

    def opener() -> tuple[Client, TokenCache]:
        made = client_or_exit(counting, max_concurrency=concurrency)
        return made, TokenCache(cache_path())

    server = "fake" if connection.fake else (connection.option("endpoint") or "api")
    return Counter(model, opener=opener, server=server, concurrency=concurrency)


def close_counter(counter: Counter) -> None:
    """Close a counter's client and cache."""
    if counter.client is not None:
        counter.client.close()
    if counter.cache is not None:
        counter.cache.close()
