"""The request log: what arrived, with which metadata, how it ended; API keys never printed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import EMBED_MODEL, module, outcome

from textservice.testing import FakeServer, RequestLog, Secret

KEY = "AIza-very-secret-key"
M = module("v1beta3")


def _calls(fake: FakeServer, n: int, metadata: dict[str, str]) -> list[Status]:
    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            out = []
            for i in range(n):
                status, _ = await outcome(
                    channel,
                    "v1beta3",
                    "EmbedText",
                    M.EmbedTextRequest(model=EMBED_MODEL, text=f"t{i}"),
                    metadata=metadata,
                )
                out.append(status)
            return out

    return asyncio.run(go())


def test_log_records_requests_metadata_and_outcome() -> None:
    fake = FakeServer(api_key=KEY)
    _calls(fake, 2, {"x-goog-api-key": KEY, "x-request-tag": "abc"})
    _calls(fake, 1, {"x-goog-api-key": "wrong"})
    first, second, third = fake.calls
    assert (first.version, first.method) == ("v1beta3", "EmbedText")
    assert first.request == M.EmbedTextRequest(model=EMBED_MODEL, text="t0")
    assert second.request.text == "t1"
    assert ("x-request-tag", "abc") in first.metadata
    assert first.api_key == KEY and third.api_key == "wrong" and third.api_key != KEY
    assert (first.status, third.status) == (Status.OK, Status.UNAUTHENTICATED)
    assert first.finished is not None and first.finished >= first.started
    assert fake.count() == 3
    assert fake.count("EmbedText", version="v1beta3") == 3
    assert fake.count("EmbedText", version="v1beta") == 0
    assert fake.count(status=Status.OK) == 2
    assert fake.log.counts() == {"EmbedText": 3}


def test_log_records_the_service_of_every_call_unimplemented_ones_too() -> None:
    fake = FakeServer()
    v1 = module("v1")

    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            return [
                (await outcome(channel, "v1", "ListModels", v1.ListModelsRequest()))[0],
                (await outcome(channel, "v1", "GenerateContent", v1.GenerateContentRequest()))[0],
                (await outcome(channel, "v1beta3", "EmbedText", M.EmbedTextRequest(
                    model=EMBED_MODEL, text="x")))[0],
            ]  # fmt: skip

    assert asyncio.run(go()) == [Status.OK, Status.UNIMPLEMENTED, Status.OK]
    assert [(c.version, c.service, c.method, c.status) for c in fake.calls] == [
        ("v1", "ModelService", "ListModels", Status.OK),
        ("v1", "GenerativeService", "GenerateContent", Status.UNIMPLEMENTED),
        ("v1beta3", "TextService", "EmbedText", Status.OK),
    ]
    assert fake.calls[1].request is None  # not read: the answer needs none
    assert fake.count("GenerateContent", status=Status.UNIMPLEMENTED) == 1


def test_an_unimplemented_call_is_logged_with_its_deadline_and_key_through_either_face() -> None:
    import httpx

    fake = FakeServer(api_key=KEY)
    v1 = module("v1")

    async def over_grpc() -> Status:
        async with fake.in_memory() as channel:
            request = v1.GenerateContentRequest()
            metadata = {"x-goog-api-key": KEY}
            return (await outcome(channel, "v1", "GenerateContent", request, metadata=metadata))[0]

    async def over_rest() -> int:
        async with httpx.AsyncClient(transport=fake.http_transport(), base_url="http://f") as h:
            answer = await h.post(
                f"/v1/models/gemini-2.5-flash:generateContent?key={KEY}",
                json={},
                headers={"x-server-timeout": "30"},
            )
            return answer.status_code

    assert asyncio.run(over_grpc()) is Status.UNIMPLEMENTED
    assert asyncio.run(over_rest()) == 501
    grpc, rest = fake.calls
    for call in (grpc, rest):
        assert (call.method, call.status, call.request) == (
            "GenerateContent",
            Status.UNIMPLEMENTED,
            None,
        )
        assert call.api_key == KEY  # the REST face's from the key query parameter
    assert grpc.timeout is not None and 9 < grpc.timeout <= 10  # the helper's 10 s
    assert rest.timeout == 30


def test_api_key_is_redacted_in_every_printed_form() -> None:
    fake = FakeServer(api_key=KEY)
    _calls(fake, 1, {"x-goog-api-key": KEY, "authorization": "Bearer tok-123"})
    call = fake.calls[0]
    printed = [repr(call), str(call), f"{call}", repr(fake.calls), repr(fake), repr(fake.log)]
    printed += [repr(call.metadata), str(call.api_key), f"{call.api_key}", f"{call.api_key:>40}"]
    for text in printed:
        assert KEY not in text and "tok-123" not in text
    assert "<redacted>" in repr(call)
    assert call.api_key is not None and call.api_key.reveal() == KEY


def test_secret_compares_without_revealing() -> None:
    secret = Secret("k1")
    assert secret == "k1" and secret == b"k1" and secret == Secret("k1")
    assert secret != "k2"
    assert secret.__eq__(3) is NotImplemented
    with pytest.raises(TypeError):
        hash(secret)


def test_log_limit_keeps_counters_exact() -> None:
    fake = FakeServer(log_limit=2)
    _calls(fake, 5, {})
    assert [c.request.text for c in fake.calls] == ["t3", "t4"]
    assert fake.count("EmbedText") == 5


def test_reset_forgets_everything() -> None:
    fake = FakeServer()
    fake.faults.fail_next(3)
    fake.set_generate_text_extras(blocked=True)
    _calls(fake, 1, {})
    fake.reset()
    assert fake.calls == [] and fake.count() == 0 and fake.faults.pending == []
    assert _calls(fake, 1, {}) == [Status.OK]


@pytest.mark.parametrize(
    ("limit", "error"), [(-1, ValueError), ("3", TypeError), (True, TypeError)]
)
def test_log_limit_is_checked(limit: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="limit"):
        RequestLog(limit)
