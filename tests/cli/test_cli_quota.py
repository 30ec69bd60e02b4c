"""``textservice embed`` under a quota: the quota options, ``throttled`` in the progress, the
time spent waiting for quota in the summary, and no text lost."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from support.cli_helpers import MODEL, read_jsonl, run_cli, texts, write_lines

from textservice.cli.app import cli
from textservice.cli.connect import CLIENT_FLAGS, Connection, connection_options, make_client
from textservice.cli.embed import EmbedSummary, format_summary
from textservice.cli.progress import Progress
from textservice.client import Client, call_path
from textservice.testing import FakeServer, expected_embedding

TIME_SCALE = 60


def test_quota_options_reach_the_client() -> None:
    quota = {
        "requests_per_minute": 30,
        "texts_per_minute": 3000,
        "tokens_per_minute": 1e6,
        "quota_share": 0.5,
        "quota_time_scale": 60,
    }
    client = make_client(Connection(True, None, quota))
    with client:
        settings = call_path(client).governor.settings
    assert (settings.limit("requests"), settings.limit("texts"), settings.limit("tokens")) == (
        15.0,
        1500.0,
        5e5,
    )
    assert settings.minute == 1.0


def test_every_client_flag_sets_a_client_option_with_the_clients_default() -> None:
    # the options are declared once, on Client: a flag names one, and takes its default
    parameters = inspect.signature(Client).parameters
    for flag in CLIENT_FLAGS:
        assert parameters[flag.option].kind is inspect.Parameter.KEYWORD_ONLY
    seen: list[Connection] = []

    @click.command()
    @connection_options
    def probe(connection: Connection) -> None:
        seen.append(connection)

    assert CliRunner().invoke(probe, []).exit_code == 0
    (connection,) = seen
    assert connection.options == {f.option: parameters[f.option].default for f in CLIENT_FLAGS}
    given = ["--endpoint", "h:1", "--insecure", "--transport", "rest", "--timeout", "5"]
    assert CliRunner().invoke(probe, [*given, "--rpm", "7", "--quota-share", "0.5"]).exit_code == 0
    options = seen[-1].options
    assert (options["endpoint"], options["insecure"], options["transport"]) == ("h:1", True, "rest")
    assert (options["timeout"], options["requests_per_minute"], options["quota_share"]) == (
        5.0,
        7.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--rpm", "0"), ("--tpm", "-5"), ("--quota-share", "1.5"), ("--quota-time-scale", "0")],
)
def test_bad_quota_options_are_usage_errors(option: str, value: str) -> None:
    done = CliRunner().invoke(cli, ["count-tokens", "--fake", option, value, "hi"])
    assert done.exit_code == 2
    assert option in done.output


def test_the_summary_says_how_long_the_run_waited_for_quota() -> None:
    summary = EmbedSummary(embedded=500, seconds=4.0, destination="out.jsonl")
    assert "waiting for quota" not in format_summary(summary)
    summary.quota_wait, summary.rejected = 3.25, 1
    assert format_summary(summary).endswith(
        "; 3.2 s waiting for quota (1 call over quota, sent again) -> out.jsonl"
    )


def test_the_progress_line_shows_throttled_while_it_is() -> None:
    throttled = [False]
    now = [0.0]
    lines: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    progress = Progress(
        100,
        stream=Stream(),  # type: ignore[arg-type]
        mode="lines",
        interval=1.0,
        clock=lambda: now[0],
        note=lambda: "throttled" if throttled[0] else "",
    )
    progress.update(10)
    throttled[0] = True
    now[0] = 2.0
    progress.refresh()  # no batch arrived, but the line is due: drawn again
    throttled[0] = False
    now[0] = 4.0
    progress.update(100)
    assert [line.strip().endswith("throttled") for line in lines] == [False, True, False]


@pytest.mark.subprocess
@pytest.mark.network
@pytest.mark.slow
def test_embed_against_a_quota_limited_server_loses_no_text(tmp_path: Path) -> None:
    fake = FakeServer(
        api_key="right-key",
        embedding_dimension=8,
        quotas={"requests_per_minute": 10, "time_scale": TIME_SCALE},
    )
    items = texts(3_000)
    items[2_000:2_010] = items[:10]  # repeats, far apart: sent again, still in place
    source = write_lines(tmp_path / "in.txt", items)
    out = tmp_path / "out.jsonl"
    with fake.serve() as address:
        done = run_cli(
            [
                "embed", "-m", MODEL, "-i", str(source), "-o", str(out), "--progress",
                "--endpoint", address.target, "--insecure",
                "--quota-time-scale", str(TIME_SCALE), "--batch-size", "50",
            ],
            env={"GOOGLE_API_KEY": "right-key"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = read_jsonl(out)
    assert [r["id"] for r in records] == list(range(1, 3_001))
    assert [r["embedding"] for r in records] == [expected_embedding(MODEL, t, 8) for t in items]
    assert fake.quotas is not None and fake.quotas.rejected() >= 1  # it was over quota
    assert "throttled" in done.stderr
    summary = done.stderr.strip().splitlines()[-1]
    assert "s waiting for quota (" in summary, summary
    assert summary.startswith("embedded 3000 texts"), summary
