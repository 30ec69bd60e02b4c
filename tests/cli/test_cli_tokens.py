"""Tokens and the bill before sending: ``textservice embed --dry-run``, ``--estimate-tokens``,
``--on-long``, the token cache, the price table.

The fake counts tokens by its own rule (``expected_token_count``: a run of word characters or
one other character), in CountTokens and in the limit it holds embedding inputs to, so the
exact counts a dry run reports are known here; its request log shows that a dry run makes no
embedding call.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.cli_helpers import (
    EMBEDDING_METHODS,
    read_jsonl,
    run_cli,
    texts_embedded,
    write_lines,
)

from textservice._governor import estimate_tokens
from textservice._pricing import BATCH_SHARE, minutes_at, price_for
from textservice.cli.inputs import Record
from textservice.cli.tokens import Counter, TokenCache, cut_to_fit, fits, sent_text
from textservice.testing import FakeServer, ServerAddress
from textservice.testing.generation import expected_token_count
from textservice.testing.vectors import expected_content_embedding

pytestmark = [pytest.mark.subprocess, pytest.mark.network]

ONE = "models/gemini-embedding-001"
KEY_ENV = {"GOOGLE_API_KEY": "token-key"}


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(api_key="token-key", embedding_dimension=8, log_limit=None)
    with fake.serve() as address:
        yield fake, address


def endpoint(address: ServerAddress) -> list[str]:
    return ["--endpoint", address.target, "--insecure"]


def corpus(count: int, seed: int = 20) -> list[str]:
    """A realistic corpus: blank lines, duplicates, emoji, and lines of 20,000 characters."""
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(count):
        r = rng.random()
        if r < 0.025:
            lines.append("" if r < 0.02 else "   ")
        elif r < 0.10 and lines:
            lines.append(lines[rng.randrange(len(lines))])  # a duplicate
        elif r < 0.15:
            lines.append(f"emoji {i} 🎉🚀 café naïve 漢字 " * 3)
        elif r < 0.152:
            lines.append((f"long {i} " + "lorem ipsum dolor sit amet " * 800)[:20_000])
        else:
            lines.append(f"document {i}: the quick brown fox jumps over the lazy dog {i % 97}")
    return lines


def field(report: str, name: str) -> str:
    """The value of a report's ``name:`` line."""
    for line in report.splitlines():
        if line.strip().startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name!r} in {report}")


def test_a_dry_run_of_a_20000_line_corpus_counts_tokens_and_long_lines_and_embeds_nothing(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    lines = corpus(20_000)
    source = write_lines(tmp_path / "corpus.txt", lines)
    good = [(n, t) for n, t in enumerate(lines, start=1) if t.strip()]
    tokens = [expected_token_count(t) for _, t in good]
    over = [n for (n, _), k in zip(good, tokens, strict=True) if k > 2048]
    assert len(over) >= 20 and any(len(t) == 20_000 for t in lines)
    args = ["embed", "-m", ONE, "-i", str(source), "--dry-run", *endpoint(address)]

    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert not set(fake.log.counts()) & set(EMBEDDING_METHODS)  # no embedding call
    calls = fake.log.count("CountTokens")
    # texts that surely fit counted 100 to a call, the long ones (and duplicates) once each
    long_texts = {t for _, t in good if len(t.encode()) > 2048}
    assert calls <= len(good) / 100 + 10 * 2 + len(long_texts) + 1
    assert fake.log.counts() == {"CountTokens": calls}
    bad = len(lines) - len(good)
    assert field(report, "texts") == f"{len(good):,} ({bad:,} bad lines left out)"
    assert field(report, "tokens").startswith(f"{sum(tokens):,} (CountTokens: {calls:,} calls, ")
    longest = max(range(len(good)), key=lambda i: (tokens[i], -i))
    assert field(report, "longest") == f"line {good[longest][0]:,}: {tokens[longest]:,} tokens"
    assert field(report, "over limit").startswith(
        f"{len(over):,} texts over 2,048 tokens: lines {over[0]:,} ("
    )
    assert field(report, "calls") == f"{math.ceil(len(good) / 100):,} of up to 100 texts"
    price = sum(tokens) / 1e6 * 0.15
    assert field(report, "price").startswith(f"${price:,.2f} online, at $0.15 per million")
    assert f"${price * BATCH_SHARE:,.2f} in Batch mode (half price" in report

    # Again: every count from the cache, no call at all; the same report.
    fake.log.clear()
    again = run_cli(args, env=KEY_ENV)
    assert again.returncode == 0, again.stderr
    assert fake.log.counts() == {}
    assert field(again.stdout, "tokens").startswith(f"{sum(tokens):,} (CountTokens: 0 calls, ")
    assert field(again.stdout, "over limit") == field(report, "over limit")

    # The estimate: no call, no key needed; UTF-8 bytes / 4.
    estimated = run_cli(["embed", "-m", ONE, "-i", str(source), "--dry-run", "--estimate-tokens"])
    assert estimated.returncode == 0, estimated.stderr
    total = sum(estimate_tokens(t) for _, t in good)
    assert field(estimated.stdout, "tokens") == (
        f"{total:,} (--estimate-tokens: UTF-8 bytes / 4, rounded up)"
    )
    assert fake.log.counts() == {}


def test_a_dry_run_leaves_out_what_an_earlier_output_holds_and_times_the_quota(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    lines = [f"text number {i}" for i in range(300)]
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / "out.jsonl"
    base = ["embed", "-m", ONE, "-i", str(source), "-o", str(out), *endpoint(address)]
    assert run_cli(base, env=KEY_ENV).returncode == 0
    lines[10] = "a changed line"
    write_lines(source, [*lines, "one more line"])
    fake.log.clear()
    done = run_cli([*base, "--dry-run", "--rpm", "1", "--price", "2"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert field(done.stdout, "texts") == f"2 (299 more reused from {out})"
    sent = ["a changed line", "one more line"]
    assert field(done.stdout, "tokens") == (
        f"{sum(map(expected_token_count, sent))} (CountTokens: 2 calls, 0 cached)"
    )
    assert field(done.stdout, "calls") == "1 of up to 100 texts"
    assert field(done.stdout, "time") == "1 min 0 s at --rpm 1 (the client's own limits)"
    assert field(done.stdout, "price").startswith("under $0.01 online, at $2 per million input")
    assert set(fake.log.counts()) == {"CountTokens"}
    assert not (tmp_path / "out.jsonl.part").exists()  # nothing changed on disk
    unknown = run_cli(["embed", "-m", "models/my-own", "-i", str(source), "--dry-run",
                       "--estimate-tokens"])  # fmt: skip
    assert "unknown for models/my-own (pass --price USD" in unknown.stdout


@pytest.mark.parametrize("name", ["out.jsonl", "out.npy"])
def test_on_long_error_skip_and_truncate(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], name: str
) -> None:
    fake, address = served
    long = " ".join(f"w{i}" for i in range(3000))  # 3,000 tokens: over 2,048
    lines = ["short one", long, "short two"]
    source = write_lines(tmp_path / "in.txt", lines)
    out = tmp_path / name
    args = ["embed", "-m", ONE, "-i", str(source), "-o", str(out), *endpoint(address)]

    done = run_cli(args, env=KEY_ENV)  # error: listed like a bad line, nothing sent
    assert done.returncode == 3, done.stderr
    assert f"{source}:2: 3,000 tokens, over {ONE}'s limit of 2,048" in done.stderr
    assert "1 text over" in done.stderr and "nothing was sent" in done.stderr
    assert texts_embedded(fake) == [] and not out.exists()

    fake.log.clear()
    done = run_cli([*args, "--on-long", "skip"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    assert texts_embedded(fake) == ["short one", "short two"]
    if name.endswith(".npy"):
        rows = np.load(out)
        assert np.isnan(rows[1]).all() and not np.isnan(rows[[0, 2]]).any()
    else:
        assert [r["id"] for r in read_jsonl(out)] == [1, 3]

    fake.log.clear()
    done = run_cli([*args, "--on-long", "truncate", "--overwrite"], env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    sent = texts_embedded(fake)
    assert sent[0] == "short one" and sent[2] == "short two"
    cut = sent[1]
    assert long.startswith(cut) and 2000 <= expected_token_count(cut) <= 2048
    assert f"(cut to {len(cut):,} characters)" in done.stderr
    vectors = np.load(out) if name.endswith(".npy") else [r["embedding"] for r in read_jsonl(out)]
    assert np.allclose(vectors[1], expected_content_embedding(ONE, cut, dimension=8))


def test_the_estimate_judges_long_texts_without_a_call(tmp_path: Path) -> None:
    # 9,000 bytes: 2,250 tokens by the estimate, over 2,048; cut to 4 x 2,048 bytes.
    source = write_lines(tmp_path / "in.txt", ["x" * 9000, "short"])
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", ONE, "-i", str(source), "-o", str(out), "--estimate-tokens"]
    done = run_cli(args)
    assert done.returncode == 3 and "2,250 tokens, over" in done.stderr
    done = run_cli([*args, "--on-long", "truncate"])
    assert done.returncode == 0, done.stderr
    assert "(cut to 8,192 characters)" in done.stderr
    assert read_jsonl(out)[0]["embedding"] == expected_content_embedding(ONE, "x" * 8192)


def test_a_dry_run_plans_what_on_long_would_send(tmp_path: Path) -> None:
    # It used to plan from the texts as read: 2,250 tokens where 2,048 go, and after a
    # truncating run, the cut text "to send" again although the output held it.
    source = write_lines(tmp_path / "in.txt", ["x" * 9000, "short"])
    out = tmp_path / "out.jsonl"
    args = ["embed", "--fake", "-m", ONE, "-i", str(source), "-o", str(out), "--estimate-tokens"]
    cut = [*args, "--on-long", "truncate"]
    planned = run_cli([*cut, "--dry-run"])
    assert planned.returncode == 0, planned.stderr
    assert "(cut to 8,192 characters)" in planned.stderr
    assert "tokens:     2,050 " in planned.stdout  # 8,192 bytes / 4 + "short"
    assert run_cli(cut).returncode == 0 and len(read_jsonl(out)) == 2
    again = run_cli([*cut, "--dry-run"])
    assert again.returncode == 0, again.stderr
    assert "texts:      0 (2 more already in" in again.stdout
    listed = run_cli([*args, "--dry-run"])  # --on-long error: listed, not a stop
    assert listed.returncode == 0, listed.stderr
    assert "1 text over 2,048 tokens" in listed.stdout


# -- units ------------------------------------------------------------------------------------


def test_the_token_cache_keeps_counts_by_server_model_and_text(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "c" / "tokens.sqlite3")
    cache.put("fake|m", [("a", 1), ("b c", 2)])
    assert cache.get("fake|m", ["a", "b c", "d"]) == {"a": 1, "b c": 2}
    assert cache.get("api|m", ["a"]) == {}  # another server's counts are its own
    cache.close()
    again = TokenCache(tmp_path / "c" / "tokens.sqlite3")
    assert again.get("fake|m", [f"t{i}" for i in range(1200)] + ["a"]) == {"a": 1}
    again.close()


def test_fits_sent_text_and_the_estimates_cut() -> None:
    assert fits("a" * 10, 10) and not fits("a" * 11, 10) and not fits("é" * 6, 10)
    two = "models/gemini-embedding-2"
    record = Record(1, 1, "text", title="T")
    assert sent_text(record, two, "RETRIEVAL_DOCUMENT") == "title: T | text: text"
    assert sent_text(record, ONE, "RETRIEVAL_DOCUMENT") == "text"
    assert sent_text(Record(1, 1, "", file=Path("x.png")), two, None) is None
    counter = Counter(ONE)  # no client: the estimate
    assert cut_to_fit("é" * 100, 10, counter) == "é" * 20  # 40 bytes
    assert counter.count(["abcde", "🎉"]) == [2, 1]


def test_prices_and_minutes() -> None:
    assert price_for(ONE) == 0.15 and price_for("models/gemini-embedding-2-preview") == 0.20
    assert price_for("models/embedding-gecko-001") is None
    assert minutes_at(texts=300, tokens=10, calls=3) is None
    assert minutes_at(texts=300, tokens=10, calls=3, requests_per_minute=1) == 3
    assert (
        minutes_at(texts=300, tokens=10, calls=3, texts_per_minute=100, requests_per_minute=1) == 3
    )
    assert minutes_at(texts=300, tokens=10, calls=3, texts_per_minute=50) == 6


def test_a_run_without_long_texts_counts_nothing_and_makes_no_cache(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["short", "texts " * 300])  # 1,800 bytes
    out = tmp_path / "out.jsonl"
    cache = tmp_path / "cache"
    args = ["embed", "-m", ONE, "-i", str(source), "-o", str(out), *endpoint(address)]
    done = run_cli(args, env={**KEY_ENV, "TEXTSERVICE_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr
    assert "CountTokens" not in fake.log.counts() and not cache.exists()


@pytest.mark.parametrize("on_long", ["skip", "truncate"])
def test_long_texts_left_out_or_cut_are_listed_20_at_most_and_not_when_quiet(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress], on_long: str
) -> None:
    _, address = served
    long = " ".join(f"w{i}" for i in range(3000))  # 3,000 tokens: over 2,048
    source = write_lines(tmp_path / "in.txt", ["short", *[f"{n} {long}" for n in range(25)]])
    args = ["embed", "-m", ONE, "-i", str(source), "-o", str(tmp_path / "out.jsonl")]
    args += [*endpoint(address), "--on-long", on_long]

    done = run_cli(args, env=KEY_ENV)
    assert done.returncode == 0, done.stderr
    listed = [line for line in done.stderr.splitlines() if line.startswith(f"{source}:")]
    assert len(listed) == 20 and listed[0].startswith(f"{source}:2: ")
    assert "... and 5 more" in done.stderr and "25 texts over the limit" in done.stderr

    quiet = run_cli([*args, "--overwrite", "--quiet"], env=KEY_ENV)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
