"""The fake's quotas: per method and model, answered like the API (QuotaFailure, RetryInfo)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpclib.client import UnaryUnaryMethod
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from support.fake_helpers import CONTENT_MODEL, EMBED_MODEL, TEXT_MODEL, module, outcome, routes

from textservice._encoding.metadata import message_metadata
from textservice._encoding.requests import request_model, request_texts
from textservice._fake_server_options import FAKE_SERVER_OPTIONS, QUOTA_OPTIONS
from textservice._proto.google import rpc
from textservice.testing import FakeServer, quota_failure
from textservice.testing.__main__ import _parser
from textservice.testing.quotas import QuotaLedger, Quotas, quotas_from_arguments

V = module("v1beta")
BATCH = "BatchEmbedText"
RPM_ID = "BatchEmbedTextRequestsPerMinutePerProjectPerModel"


class Clock:
    """A settable stand-in for ``time.monotonic``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ledger(**quotas: Any) -> tuple[QuotaLedger, Clock]:
    clock = Clock()
    return QuotaLedger(Quotas(**quotas), clock=clock), clock


def batch(n: int = 1, text: str = "abcd", model: str = EMBED_MODEL) -> Any:
    return V.BatchEmbedTextRequest(model=model, texts=[text] * n)


def parts(error: GRPCError | None) -> tuple[rpc.QuotaFailure, rpc.Help, rpc.RetryInfo | None]:
    assert error is not None
    assert error.status is Status.RESOURCE_EXHAUSTED
    found: dict[type, Any] = {type(d): d for d in error.details or ()}
    return found[rpc.QuotaFailure], found[rpc.Help], found.get(rpc.RetryInfo)


def delay_of(error: GRPCError | None) -> float | None:
    info = parts(error)[2]
    assert info is None or info.retry_delay is not None
    return None if info is None or info.retry_delay is None else info.retry_delay.total_seconds()


# -- the ledger, on a settable clock -----------------------------------------------------------


def test_requests_per_minute_in_fixed_minutes() -> None:
    quotas, clock = ledger(requests_per_minute=2)
    assert quotas.check(BATCH, batch()) is None
    clock.now += 20
    assert quotas.check(BATCH, batch()) is None
    clock.now += 10  # 30 s into the minute
    error = quotas.check(BATCH, batch())
    failure, help_, _ = parts(error)
    (violation,) = failure.violations
    assert violation.quota_id == RPM_ID
    assert violation.quota_metric == "generativelanguage.googleapis.com/batch_embed_text_requests"
    assert violation.quota_value == 2
    assert violation.quota_dimensions == {"location": "global", "model": "embedding-gecko-001"}
    assert help_.links[0].url == "https://ai.google.dev/gemini-api/docs/rate-limits"
    assert delay_of(error) == 30.0  # until the next minute starts
    assert error is not None and error.message is not None and RPM_ID in error.message
    clock.now += 29.999
    assert quotas.check(BATCH, batch()) is not None
    clock.now += 0.001  # a new minute: all of the quota is back
    assert quotas.check(BATCH, batch()) is None
    assert quotas.check(BATCH, batch()) is None
    assert (quotas.accepted(), quotas.rejected(), quotas.rejected(quota_id=RPM_ID)) == (4, 2, 2)
    assert repr(quotas) == "QuotaLedger(2 requests/min per method and model (fixed minutes))"
    every = Quotas(1, 2, 3, 4, retry_info=False, send_quota_value=False, time_scale=60)
    assert every.describe() == (
        "1 requests/min, 2 texts/min, 3 tokens/min, 4 requests/day per method and model "
        "(fixed minutes, clock x60, no RetryInfo, no quota_value)"
    )


def test_requests_per_minute_in_a_sliding_window() -> None:
    quotas, clock = ledger(requests_per_minute=2, window="sliding")
    assert quotas.check(BATCH, batch()) is None
    clock.now += 20
    assert quotas.check(BATCH, batch()) is None
    clock.now += 10
    assert delay_of(quotas.check(BATCH, batch())) == 30.0  # the first call leaves at 60
    clock.now += 30
    assert quotas.check(BATCH, batch()) is None
    assert delay_of(quotas.check(BATCH, batch())) == 20.0  # the second leaves at 80


def test_texts_and_tokens_per_minute() -> None:
    quotas, clock = ledger(texts_per_minute=100, tokens_per_minute=150)
    assert quotas.check(BATCH, batch(60, "abcd")) is None  # 60 texts, 60 tokens
    error = quotas.check(BATCH, batch(50, "abcde"))  # +50 texts, +100 tokens: both over
    failure, _, _ = parts(error)
    assert [v.quota_id for v in failure.violations] == [
        "BatchEmbedTextTextsPerMinutePerProjectPerModel",
        "BatchEmbedTextInputTokensPerMinutePerProjectPerModel",
    ]
    assert [v.quota_value for v in failure.violations] == [100, 150]
    assert quotas.check(BATCH, batch(40, "abcd")) is None  # exactly 100 texts, 100 tokens
    assert quotas.rejected() == 1  # one call, even over two quotas
    assert quotas.rejected(quota_id="BatchEmbedTextTextsPerMinutePerProjectPerModel") == 1
    clock.now += 60
    assert quotas.check(BATCH, batch(75, "é" * 3)) is None  # 6 bytes: 2 tokens each, 150
    assert quotas.check(BATCH, batch(1, "a")) is not None


def test_a_rejected_call_does_not_count() -> None:
    quotas, clock = ledger(requests_per_minute=1, window="sliding")
    assert quotas.check(BATCH, batch()) is None
    for _ in range(5):
        clock.now += 10
        assert quotas.check(BATCH, batch()) is not None
    clock.now += 10  # 60 s after the only accepted call
    assert quotas.check(BATCH, batch()) is None


def test_requests_per_day_have_no_retry_info() -> None:
    quotas, clock = ledger(requests_per_day=2, requests_per_minute=100)
    assert quotas.check(BATCH, batch()) is None
    assert quotas.check(BATCH, batch()) is None
    error = quotas.check(BATCH, batch())
    failure, _, retry = parts(error)
    assert [v.quota_id for v in failure.violations] == [
        "BatchEmbedTextRequestsPerDayPerProjectPerModel"
    ]
    assert failure.violations[0].description == "2 requests per day"
    assert retry is None
    clock.now += 86_400
    assert quotas.check(BATCH, batch()) is None


def test_retry_info_and_quota_value_can_be_left_out() -> None:
    quotas, _ = ledger(requests_per_minute=1, retry_info=False)
    quotas.check(BATCH, batch())
    failure, _, retry = parts(quotas.check(BATCH, batch()))
    assert failure.violations[0].quota_id == RPM_ID
    assert failure.violations[0].quota_value == 1
    assert retry is None
    quotas, _ = ledger(requests_per_minute=1, send_quota_value=False)
    quotas.check(BATCH, batch())
    failure, _, retry = parts(quotas.check(BATCH, batch()))
    assert failure.violations[0].quota_value == 0  # proto3: not set
    assert retry is not None


def test_time_scale_gives_delays_in_real_seconds() -> None:
    quotas, clock = ledger(requests_per_minute=1, time_scale=60)
    assert quotas.check(BATCH, batch()) is None
    clock.now += 0.25  # 15 quota seconds
    assert delay_of(quotas.check(BATCH, batch())) == 0.75  # 45 quota seconds
    clock.now += 0.75
    assert quotas.check(BATCH, batch()) is None


def test_counts_are_per_method_and_model() -> None:
    quotas, _ = ledger(requests_per_minute=1)
    embed = V.EmbedTextRequest(model=EMBED_MODEL, text="a")
    assert quotas.check(BATCH, batch()) is None
    assert quotas.check("EmbedText", embed) is None  # another method
    assert quotas.check(BATCH, batch(model="tunedModels/mine")) is None  # another model
    assert quotas.check(BATCH, batch()) is not None
    assert quotas.accepted(BATCH) == 2
    assert quotas.accepted(model="tunedModels/mine") == 1
    assert quotas.rejected(BATCH, model=EMBED_MODEL) == 1
    assert quotas.rejected("EmbedText") == 0


def test_methods_limits_only_those() -> None:
    quotas, _ = ledger(requests_per_minute=1, methods=["EmbedText"])
    for _ in range(3):
        assert quotas.check(BATCH, batch()) is None
    assert quotas.accepted() == 0  # not counted either


def test_reset_starts_the_windows_again() -> None:
    quotas, clock = ledger(requests_per_minute=1)
    clock.now += 59
    quotas.check(BATCH, batch())
    quotas.reset()
    assert (quotas.accepted(), quotas.rejected()) == (0, 0)
    assert quotas.check(BATCH, batch()) is None
    assert delay_of(quotas.check(BATCH, batch())) == 60.0  # the minute starts at the reset


def test_what_a_request_carries() -> None:
    assert list(request_texts(V.EmbedTextRequest(model=EMBED_MODEL, text="a"))) == ["a"]
    assert list(request_texts(batch(2, "b"))) == ["b", "b"]
    nested = V.BatchEmbedTextRequest(
        model=EMBED_MODEL,
        requests=[V.EmbedTextRequest(model=EMBED_MODEL, text=t) for t in ("x", "y")],
    )
    assert list(request_texts(nested)) == ["x", "y"]
    prompt = V.GenerateTextRequest(model=TEXT_MODEL, prompt=V.TextPrompt(text="p"))
    assert list(request_texts(prompt)) == ["p"]
    assert request_model(prompt) == TEXT_MODEL
    assert request_model(object()) == ""
    g = module("v1")
    content = g.Content(parts=[g.Part(text="c1"), g.Part(text="c2")])
    one = g.EmbedContentRequest(model=CONTENT_MODEL, content=content, title="not counted")
    batch_contents = g.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[one, one])
    assert list(request_texts(batch_contents)) == ["c1", "c2", "c1", "c2"]
    assert request_model(batch_contents) == CONTENT_MODEL


def test_content_texts_count_against_the_texts_quota() -> None:
    fake = FakeServer(quotas={"texts_per_minute": 5, "methods": ["BatchEmbedContents"]})
    g = module("v1beta")
    one = g.EmbedContentRequest(model=CONTENT_MODEL, content=g.Content(parts=[g.Part(text="x")]))

    def contents(n: int) -> Any:
        return g.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[one] * n)

    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            return [
                (await outcome(channel, "v1beta", "BatchEmbedContents", contents(n)))[0]
                for n in (3, 2, 1)
            ] + [(await outcome(channel, "v1beta", "EmbedContent", one))[0]]

    assert _run(go()) == [Status.OK, Status.OK, Status.RESOURCE_EXHAUSTED, Status.OK]
    assert fake.quotas is not None
    assert (
        fake.quotas.rejected(
            "BatchEmbedContents",
            model=CONTENT_MODEL,
            quota_id="BatchEmbedContentsTextsPerMinutePerProjectPerModel",
        )
        == 1
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "at least one limit"),
        ({"requests_per_minute": 0}, ValueError, "requests_per_minute must be >= 1"),
        ({"texts_per_minute": 1.5}, TypeError, "texts_per_minute must be an int"),
        ({"requests_per_day": True}, TypeError, "requests_per_day"),
        ({"requests_per_minute": 1, "window": "rolling"}, ValueError, "window"),
        ({"requests_per_minute": 1, "time_scale": 0}, ValueError, "time_scale"),
        ({"requests_per_minute": 1, "time_scale": float("nan")}, ValueError, "time_scale"),
        ({"requests_per_minute": 1, "retry_info": "no"}, TypeError, "retry_info"),
        ({"requests_per_minute": 1, "send_quota_value": 0}, TypeError, "send_quota_value"),
        ({"requests_per_minute": 1, "methods": [1]}, TypeError, "methods"),
    ],
)
def test_bad_quotas(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Quotas(**kwargs)


def test_quotas_of_a_dict_and_unknown_keys() -> None:
    assert Quotas.of({"requests_per_minute": 5}) == Quotas(requests_per_minute=5)
    assert Quotas.of(None) is None
    with pytest.raises(TypeError, match="unknown option"):
        Quotas.of({"rpm": 5})
    with pytest.raises(TypeError):
        Quotas.of(5)  # type: ignore[arg-type]
    one = Quotas(requests_per_minute=5, methods="EmbedText")  # type: ignore[arg-type]
    assert one.methods == frozenset({"EmbedText"})


# -- through the fake --------------------------------------------------------------------------


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_fake_answers_like_the_api_and_logs_the_rejection() -> None:
    fake = FakeServer(quotas={"requests_per_minute": 1})

    async def go() -> list[tuple[Status, Any]]:
        async with fake.in_memory() as channel:
            return [await outcome(channel, "v1beta", BATCH, batch()) for _ in range(2)]

    (ok, _), (status, error) = _run(go())
    assert (ok, status) == (Status.OK, Status.RESOURCE_EXHAUSTED)
    failure, _, retry = parts(error)
    assert failure.violations[0].quota_id == RPM_ID
    assert retry is not None
    assert fake.count(status=Status.RESOURCE_EXHAUSTED) == 1
    assert fake.calls[-1].status is Status.RESOURCE_EXHAUSTED
    assert RPM_ID in (fake.calls[-1].status_message or "")
    assert fake.quotas is not None
    assert (fake.quotas.accepted(), fake.quotas.rejected(BATCH)) == (1, 1)
    fake.reset()
    assert fake.quotas.rejected() == 0


def test_versions_share_the_quota_which_is_checked_on_arrival() -> None:
    fake = FakeServer(quotas={"requests_per_minute": 2})
    fake.faults.fail_next(1, "UNAVAILABLE")

    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            failed = await outcome(channel, "v1beta3", BATCH, batch())  # counts all the same
            ok = await outcome(channel, "v1beta", BATCH, batch())
            fake.faults.delay(30.0)  # latency comes after the quota check:
            over = await outcome(channel, "v1beta3", BATCH, batch(), timeout=5.0)  # at once
            return [failed[0], ok[0], over[0]]

    assert _run(go()) == [Status.UNAVAILABLE, Status.OK, Status.RESOURCE_EXHAUSTED]


_NAMED = {
    f"{verb}{resource}Request": resource
    for verb in ("Get", "Cancel", "Delete")
    for resource in ("Batch", "File")
}
"""The requests naming a stored job or file, and which."""


def _minimal_request(request_type: Any, names: dict[str, str] | None = None) -> Any:
    """A valid request of any RPC the fake answers, built from its fields (``names``: the
    name a request of a Batch mode or Files API RPC takes, by the resource its type names)."""
    proto = message_metadata(request_type)
    values: dict[str, Any] = {}
    for name in proto.sorted_field_names:
        if name == "name" and names is not None and request_type.__name__ in _NAMED:
            values[name] = names[_NAMED[request_type.__name__]]
        elif name in ("model", "name"):
            values[name] = EMBED_MODEL
        elif name == "batch":  # AsyncBatchEmbedContent: one inline request
            batch_type = proto.cls_by_field[name]
            inline = message_metadata(batch_type).cls_by_field["input_config"]
            requests = message_metadata(inline).cls_by_field["requests"]
            item = message_metadata(requests).cls_by_field["requests"]
            inner = message_metadata(item).cls_by_field["request"]
            one = item(request=_minimal_request(inner))
            values[name] = batch_type(
                model=EMBED_MODEL,
                display_name="minimal",
                input_config=inline(requests=requests(requests=[one])),
            )
        elif name == "text":
            values[name] = "hello"
        elif name == "texts":
            values[name] = ["hello"]
        elif name == "prompt":
            values[name] = proto.cls_by_field[name](text="hello")
        elif name == "content":
            content = proto.cls_by_field[name]
            part = message_metadata(content).cls_by_field["parts"]
            values[name] = content(parts=[part(text="hello")])
        elif (
            name == "requests"
            and "content" in message_metadata(proto.cls_by_field[name]).meta_by_field_name
        ):
            values[name] = [_minimal_request(proto.cls_by_field[name])]
    return request_type(**values)


def _stored_names(fake: FakeServer) -> dict[str, str]:
    """A job and a file in ``fake``'s Batch mode store, for the RPCs that name one."""
    from textservice.testing.batch_mode import StoredFile
    from textservice.testing.versions import version_named

    v1beta = version_named("v1beta")
    request = _minimal_request(v1beta.message("AsyncBatchEmbedContentRequest"))
    job = fake.batch_mode.create(v1beta, request)
    stored = fake.batch_mode._store(  # an uploaded file, as an upload session stores it
        type("Session", (), {"display_name": "", "mime_type": "text/plain", "size": 1,
                             "received": b"x"})()
    )  # fmt: skip
    assert isinstance(stored, StoredFile)
    return {"Batch": job.name, "File": stored.name}


def test_every_served_method_of_every_version_has_quotas() -> None:
    fake = FakeServer(quotas={"requests_per_minute": 1, "time_scale": 1})
    # deleting comes last: the other Batch mode and Files API calls name what it deletes
    served = sorted(routes(lambda route: route.answered), key=lambda r: "/Delete" in r.path)
    assert {route.method for route in served} == set(fake.methods)
    names = _stored_names(fake)

    async def go() -> None:
        async with fake.in_memory() as channel:
            for route in served:
                request = _minimal_request(route.request_type, names)
                unary: Any = UnaryUnaryMethod(
                    channel, route.path, route.request_type, route.reply_type
                )
                try:
                    await unary(request)
                except GRPCError as exc:
                    assert exc.status is Status.RESOURCE_EXHAUSTED, (route.path, exc)
                    failure, _, _ = parts(exc)
                    expected = f"{route.method}RequestsPerMinutePerProjectPerModel"
                    assert failure.violations[0].quota_id == expected

    _run(go())
    assert fake.quotas is not None
    for method in {route.method for route in served}:
        versions = sum(1 for route in served if route.method == method)
        assert fake.quotas.accepted(method) == 1  # the first call; versions share the quota
        assert fake.quotas.rejected(method) == versions - 1


def test_methods_must_be_served() -> None:
    with pytest.raises(ValueError, match=r"unknown RPC\(s\) \['GenerateContent'\]"):
        FakeServer(quotas={"requests_per_minute": 1, "methods": ["GenerateContent"]})
    with pytest.raises(ValueError, match=r"unknown RPC\(s\) \['EmbedContent'\]"):
        FakeServer(
            versions=["v1beta3"], quotas={"requests_per_minute": 1, "methods": ["EmbedContent"]}
        )
    with pytest.raises(ValueError, match="BatchEmbedText"):
        FakeServer(versions=["v1beta2"], quotas={"requests_per_minute": 1, "methods": [BATCH]})


def test_a_fast_clock_frees_the_minute_in_real_time() -> None:
    # a minute of 1 s: long enough for four calls on a loaded machine (at 0.1 s the fourth
    # sometimes came after the minute had ended), short enough to wait out
    fake = FakeServer(quotas={"requests_per_minute": 3, "time_scale": 60})

    async def go() -> tuple[float, Status]:
        async with fake.in_memory() as channel:
            statuses = [(await outcome(channel, "v1beta", BATCH, batch()))[0] for _ in range(4)]
            assert statuses == [Status.OK] * 3 + [Status.RESOURCE_EXHAUSTED]
            _, error = await outcome(channel, "v1beta", BATCH, batch())
            delay = delay_of(error)
            assert delay is not None
            await asyncio.sleep(delay)
            after, _ = await outcome(channel, "v1beta", BATCH, batch())
            return delay, after

    delay, after = _run(go())
    assert 0 < delay <= 1.0
    assert after is Status.OK


def test_quota_failure_helper_takes_value_and_dimensions() -> None:
    failure = quota_failure(quota_value=10, quota_dimensions={"model": "m"})
    assert (failure.violations[0].quota_value, failure.violations[0].quota_dimensions) == (
        10,
        {"model": "m"},
    )


# -- command-line options ----------------------------------------------------------------------


def test_argument_parsing_builds_quotas() -> None:
    parser = _parser()
    parsed = parser.parse_args(
        [
            *("--rpm", "10", "--tpm", "1000", "--texts-per-minute", "50", "--rpd", "500"),
            *("--no-retry-info", "--quota-window", "sliding", "--time-scale", "60"),
        ]
    )
    assert quotas_from_arguments(vars(parsed)) == Quotas(
        requests_per_minute=10,
        tokens_per_minute=1000,
        texts_per_minute=50,
        requests_per_day=500,
        retry_info=False,
        window="sliding",
        time_scale=60.0,
    )
    assert quotas_from_arguments(vars(parser.parse_args([]))) is None
    with pytest.raises(ValueError, match="at least one limit"):
        quotas_from_arguments(vars(parser.parse_args(["--time-scale", "60"])))


def test_every_quota_option_sets_a_quotas_field() -> None:
    fields = set(Quotas.__dataclass_fields__)
    assert {option.field for option in QUOTA_OPTIONS} <= fields
    assert {o.dest for o in QUOTA_OPTIONS} == {
        *("rpm", "tpm", "texts_per_minute", "rpd", "no_retry_info", "no_quota_value"),
        *("quota_window", "time_scale"),
    }


EVERY_OPTION = [
    *("--host", "0.0.0.0", "--port", "0", "--rest-port", "8081", "--dimension", "16"),
    *("--model", "models/a", "--model", "models/b", "--any-model", "--strict-methods"),
    *("--strict-models", "--require-api-key"),
    *("--rpm", "10", "--tpm", "99", "--texts-per-minute", "7", "--rpd", "5"),
    *("--no-retry-info", "--no-quota-value", "--quota-window", "sliding", "--time-scale", "60"),
]


def _both_commands(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``python -m textservice.testing`` and ``textservice fake-server`` hand to ``run``
    for the same command line."""
    from click.testing import CliRunner

    import textservice.testing.__main__ as standalone
    from textservice.cli.app import cli

    seen: list[dict[str, Any]] = []

    def run(values: Any) -> int:
        seen.append(dict(values))
        return 0

    monkeypatch.setattr(standalone, "run", run)
    assert standalone.main(argv) == 0
    done = CliRunner().invoke(cli, ["fake-server", *argv])
    assert done.exit_code == 0, done.output
    argparse_values, click_values = seen
    return argparse_values, click_values


@pytest.mark.parametrize("argv", [EVERY_OPTION, []], ids=["every option", "defaults"])
def test_both_commands_take_every_option_as_the_same_values(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    from_argparse, from_click = _both_commands(monkeypatch, argv)
    assert set(from_argparse) == set(from_click) == {o.dest for o in FAKE_SERVER_OPTIONS}
    # a repeated option: argparse's list (None when absent), click's tuple
    for values in (from_argparse, from_click):
        values["models"] = tuple(values["models"] or ())
    assert from_argparse == from_click
    if argv:
        assert from_click["models"] == ("models/a", "models/b") and from_click["port"] == 0
        assert quotas_from_arguments(from_click) == Quotas(
            requests_per_minute=10,
            tokens_per_minute=99,
            texts_per_minute=7,
            requests_per_day=5,
            retry_info=False,
            send_quota_value=False,
            window="sliding",
            time_scale=60.0,
        )
    else:
        assert (from_click["host"], from_click["port"]) == ("127.0.0.1", 50051)


@pytest.mark.parametrize(
    "bad", [["--quota-window", "rolling"], ["--port", "70000"], ["--port", "x"]]
)
def test_both_commands_refuse_the_same_bad_values(
    monkeypatch: pytest.MonkeyPatch, bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from click.testing import CliRunner

    import textservice.testing.__main__ as standalone
    from textservice.cli.app import cli

    monkeypatch.setattr(standalone, "run", lambda values: pytest.fail("ran"))
    with pytest.raises(SystemExit) as exited:
        standalone.main(bad)
    assert exited.value.code == 2
    assert CliRunner().invoke(cli, ["fake-server", *bad]).exit_code == 2


@pytest.mark.fake_server(quotas={"requests_per_minute": 1, "time_scale": 60})
def test_the_pytest_marker_sets_quotas(fake_server: FakeServer) -> None:
    assert fake_server.quotas is not None
    assert fake_server.quotas.quotas == Quotas(requests_per_minute=1, time_scale=60)
