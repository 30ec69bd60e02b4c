"""The fake answers from what each version's messages have, reads embed_content's options
through the generated role table, and reports its own bugs as INTERNAL naming the cause.

Older and newer protos lack some of today's fields and messages (v1alpha and a v1beta from
2024-06 have no ``ModalityTokenCount``); an answer leaves such a field out instead of failing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import CONTENT_MODEL, GENERATIVE_VERSIONS, embed_request, module, outcome

from textservice.testing import FakeServer, expected_content_token_count
from textservice.testing import answers as answers_module
from textservice.testing._field_roles import FIELD_ROLES, TITLE
from textservice.testing.answers import ANSWERS, Context, count_tokens
from textservice.testing.catalogue import ModelPolicy
from textservice.testing.validation import full_name, role
from textservice.testing.versions import ApiVersion, Later, api_versions, build_message


@dataclasses.dataclass
class _OldResponse:
    """A ``CountTokensResponse`` as protos before 2025-04 have it: no token details."""

    total_tokens: int = 0


def test_build_message_leaves_out_what_the_version_lacks() -> None:
    made: list[str] = []

    def later() -> list[str]:
        made.append("called")
        return ["x"]

    old = build_message(_OldResponse, {"total_tokens": 3, "prompt_tokens_details": Later(later)})
    assert old == _OldResponse(total_tokens=3)
    assert made == []  # the value of a field the message lacks is never made


def test_count_tokens_answers_a_version_without_modality_token_counts() -> None:
    # a version module holding only the old response: no ModalityTokenCount, no Modality
    old = ApiVersion("v0", SimpleNamespace(CountTokensResponse=_OldResponse), ())  # type: ignore[arg-type]
    request = SimpleNamespace(contents=[], generate_content_request=None)
    context = Context(ModelPolicy.of(None, True), answers_module.GenerateTextExtras(), ())
    assert count_tokens(context, old, request) == _OldResponse(total_tokens=0)


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_count_tokens_has_token_details_where_the_version_has_them(version: str) -> None:
    m = module(version)
    fake = FakeServer()

    async def go() -> tuple[Status, Any]:
        async with fake.in_memory() as channel:
            contents = [m.Content(parts=[m.Part(text="one two")])]
            request = m.CountTokensRequest(model=CONTENT_MODEL, contents=contents)
            return await outcome(channel, version, "CountTokens", request)

    status, response = asyncio.run(go())
    assert status is Status.OK, response
    assert response.total_tokens == expected_content_token_count("one two")
    if "prompt_tokens_details" in {f.name for f in dataclasses.fields(type(response))}:
        assert [d.token_count for d in response.prompt_tokens_details] == [2]


def test_the_role_table_covers_every_embed_content_request_of_every_version() -> None:
    for version in api_versions():
        service = version.service("GenerativeService")
        if service is None or "EmbedContent" not in service.methods:
            continue
        request = version.message("EmbedContentRequest")
        row = FIELD_ROLES[full_name(request) or ""]
        # each role's attribute is a field of that version's request
        assert set(row.values()) <= {f.name for f in dataclasses.fields(request)}
        sample = embed_request(module(version.name), "x", title="T", task_type=2)
        assert role(sample, TITLE) == "T"
        assert role(sample, "no such role") is None


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_a_bug_in_the_fake_is_internal_naming_the_exception(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(context: Any, version: Any, request: Any) -> Any:
        raise AttributeError("module has no attribute 'ModalityTokenCount'")

    monkeypatch.setitem(ANSWERS, ("GenerativeService", "EmbedContent"), broken)
    fake = FakeServer()
    m = module(version)

    async def go() -> tuple[Status, Any]:
        async with fake.in_memory() as channel:
            return await outcome(channel, version, "EmbedContent", embed_request(m, "x"))

    with caplog.at_level(logging.ERROR, logger="textservice.testing.fake"):
        status, error = asyncio.run(go())
    assert status is Status.INTERNAL
    assert "GenerativeService.EmbedContent" in error.message
    assert "AttributeError" in error.message and "ModalityTokenCount" in error.message
    assert fake.count(status=Status.INTERNAL) == 1
    assert "Traceback" in caplog.text  # the whole cause stays in the fake's log
