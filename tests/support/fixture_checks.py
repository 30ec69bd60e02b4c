"""Behaviour of the facades generated from the edge-case fixture protos (``tests/protos``).

Run in a subprocess on a package generated from ``protos/`` plus the fixtures (see
``tests/test_facade_golden.py``): ``python -m support.fixture_checks``. The fake server only serves
the real API, so the runtime's ``call``, ``embed_one`` and ``embed_many`` are replaced by
recorders here; what is checked is the generated glue: parameter names, request building and result
shaping.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import betterproto2

from textservice import _facade
from textservice._engine import embed as engine
from textservice._engine.outputs import LIST
from textservice.client import TextServiceClient

Responder = Callable[[Any], betterproto2.Message]


class Recorder:
    """Stands in for the network: records requests and answers with ``respond(request)``."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Any] = []
        self.methods: list[Any] = []
        self.embed_calls: list[dict[str, Any]] = []

    async def call(self, path: Any, method: Any, request: Any, options: Any, reply: Any) -> Any:
        self.methods.append(method)
        self.requests.append(request)
        return self.respond(request)

    async def embed_one(
        self, path: Any, recipe: Any, params: Any, text: str, options: Any, output: Any
    ) -> list[float]:
        assert output is LIST, output
        request = recipe.one.request(params, text)
        self.methods.append(recipe.one.method)
        self.requests.append(request)
        return list(recipe.one.vector(self.respond(request)))

    async def embed_many(
        self, path: Any, recipe: Any, params: Any, texts: list[str], options: Any, output: Any
    ) -> list[list[float]]:
        assert output is LIST, output
        self.embed_calls.append(
            {"texts": texts, "single": recipe.one, "batch": recipe.many, "model": params}
        )
        return [[float(len(t))] for t in texts]


def recording(respond: Responder) -> Recorder:
    recorder = Recorder(respond)
    _facade.call = recorder.call  # type: ignore[attr-defined]
    engine.embed_one = recorder.embed_one  # type: ignore[assignment]
    engine.embed_many = recorder.embed_many  # type: ignore[assignment]
    return recorder


CLIENT = TextServiceClient("fixture-key")


def expect_error(kind: type[Exception], words: str, call: Callable[[], object]) -> None:
    try:
        call()
    except kind as exc:
        assert words in str(exc), (words, str(exc))
    else:
        raise AssertionError(f"expected {kind.__name__} about {words}")


def check_reserved_names() -> None:
    facade = importlib.import_module("textservice.reserved_names")
    pb = facade._pb
    names = list(inspect.signature(facade.generate_text).parameters)
    assert names == [
        "model",
        "prompt",
        "type_",
        "from_",
        "client_",
        "request",
        "client",
        "request_options",
    ], names
    recorder = recording(
        lambda request: pb.GenerateTextResponse(
            candidates=[pb.Candidate(output=request.type, from_=request.from_)]
        )
    )
    completion = facade.generate_text(
        model="models/m",
        prompt="p",
        type_="kind",
        from_=7,
        client_="who",
        request=True,
        client=CLIENT,
    )
    request = recorder.requests[-1]
    assert (request.type, request.from_, request.client, request.request) == (
        "kind",
        7,
        "who",
        True,
    )
    assert completion == {"candidates": [{"output": "kind", "from": 7}], "result": "kind"}
    expect_error(TypeError, "from_", lambda: facade.generate_text(prompt="p", from_="x"))


def check_optional_scalars() -> None:
    facade = importlib.import_module("textservice.optional_scalars")
    pb = facade._pb
    assert facade._GENERATE_TEXT.default_timeout == 12.5
    assert facade._GENERATE_TEXT.default_retry is None
    assert "server_note" not in inspect.signature(facade.generate_text).parameters
    recorder = recording(lambda request: pb.GenerateTextResponse(candidates=[pb.Candidate()]))
    completion = asyncio.run(facade.generate_text_async(prompt="p", client=CLIENT))
    request = recorder.requests[-1]
    assert request.model == "models/text-bison-001"
    assert (request.temperature, request.seed, request.echo, request.suffix) == (None,) * 4
    assert request.candidate_count == 0 and request.mode == pb.Mode.MODE_UNSPECIFIED
    assert completion == {
        "candidates": [{"output": "", "tokens": None}],
        "mode": pb.Mode.MODE_UNSPECIFIED,
        "score": None,
        "labels": {},
        "result": "",
    }
    asyncio.run(
        facade.generate_text_async(
            prompt="p",
            temperature=0.5,
            seed=2**40,
            candidate_count=2,
            echo=False,
            suffix="",
            mode="GREEDY",
            client=CLIENT,
        )
    )
    request = recorder.requests[-1]
    # set optional fields keep their (falsy) values: False and "" are not "unset"
    assert (request.temperature, request.seed, request.echo, request.suffix) == (
        0.5,
        2**40,
        False,
        "",
    )
    assert request.candidate_count == 2 and request.mode is pb.Mode.GREEDY
    parsed = pb.GenerateTextRequest.parse(bytes(request))
    assert parsed.echo is False and parsed.suffix == ""
    expect_error(ValueError, "mode", lambda: facade.generate_text(prompt="p", mode="FAST"))
    expect_error(ValueError, "seed", lambda: facade.generate_text(prompt="p", seed=2**70))


def check_message_argument() -> None:
    facade = importlib.import_module("textservice.message_argument")
    pb = facade._pb
    recorder = recording(
        lambda request: pb.CountTextTokensResponse(token_count=len(request.prompt.text))
    )
    counted = facade.count_text_tokens(
        "models/m",
        "four",
        options={"tokenizer": "t", "lowercase": True},
        fallbacks=[pb.TokenizerOptions(tokenizer="a"), {"tokenizer": "b"}],
        client=CLIENT,
    )
    assert counted == {"token_count": 4, "options": None}
    request = recorder.requests[-1]
    assert request.options == pb.TokenizerOptions(tokenizer="t", lowercase=True)
    assert [f.tokenizer for f in request.fallbacks] == ["a", "b"]
    prompt = pb.TextPrompt(text="given")
    facade.count_text_tokens("models/m", prompt, client=CLIENT)
    assert recorder.requests[-1].prompt is prompt
    expect_error(
        ValueError, "options", lambda: facade.count_text_tokens("models/m", "x", options={"x": 1})
    )
    expect_error(TypeError, "prompt", lambda: facade.count_text_tokens("models/m", 5))
    expect_error(
        TypeError, "fallbacks", lambda: facade.count_text_tokens("models/m", "x", fallbacks=3)
    )


def check_no_batch() -> None:
    facade = importlib.import_module("textservice.no_batch")
    pb = facade._pb
    assert not hasattr(facade, "_BATCH_EMBED_TEXT") and not hasattr(facade, "generate_text")
    recorder = recording(
        lambda request: pb.EmbedTextResponse(embedding=pb.Embedding(value=[0.5, 0.25]))
    )
    assert facade.generate_embeddings("models/m", "one", client=CLIENT) == {
        "embedding": [0.5, 0.25]
    }
    assert recorder.requests[-1] == pb.EmbedTextRequest(model="models/m", text="one")
    many = facade.generate_embeddings("models/m", ["a", "bb"], client=CLIENT)
    assert many == {"embedding": [[1.0], [2.0]]}
    call = recorder.embed_calls[-1]
    assert call["batch"] is None and call["texts"] == ["a", "bb"]
    single = call["single"]
    assert single.request(call["model"], "z") == pb.EmbedTextRequest(model="models/m", text="z")
    assert call["single"].vector(pb.EmbedTextResponse()) == []  # no embedding: no values


def check_docstring_escapes() -> None:
    facade = importlib.import_module("textservice.docstring_escapes")
    pb = facade._pb
    module_doc = facade.__doc__ or ""
    assert 'comments say """quoted""" and C:\\path\\to\\file and end with a "quote"' in module_doc
    doc = facade.generate_embeddings.__doc__
    assert 'A regex: \\d+\\s*"""\\n and a lone backslash \\\n' in doc
    assert 'The text: """ and \\ both appear here.' in doc
    assert all(len(line) <= 100 for line in inspect.getsource(facade).splitlines())
    recorder = recording(
        lambda request: pb.BatchEmbedTextResponse(
            embeddings=[pb.Embedding(value=[1.0]) for _ in request.texts]
        )
    )
    facade.generate_embeddings("models/m", ["a", "b"], client=CLIENT)
    call = recorder.embed_calls[-1]
    assert call["batch"].max_texts == 100
    batch_request = call["batch"].request(call["model"], ["a", "b"])
    assert batch_request == pb.BatchEmbedTextRequest(model="models/m", texts=["a", "b"])
    assert call["batch"].vectors(recorder.respond(batch_request)) == [[1.0], [1.0]]


def check_renamed_rpcs() -> None:
    facade = importlib.import_module("textservice.renamed_rpcs")
    pb = facade._pb
    # RPCs found by their shape: EmbedWords/EmbedManyWords embed, TallyWords counts tokens
    assert facade.__all__ == [
        "ArrayEmbeddingDict",
        "BatchEmbeddingDict",
        "EmbeddingDict",
        "TallyWordsResponseDict",
        "count_text_tokens",
        "count_text_tokens_async",
        "generate_embeddings",
        "generate_embeddings_async",
        "iter_embeddings",
        "iter_embeddings_async",
    ]
    assert not hasattr(facade, "ping") and not hasattr(facade, "generate_text")
    recorder = recording(
        lambda request: (
            pb.TallyWordsResponse(token_count=7)
            if isinstance(request, pb.TallyWordsRequest)
            else pb.EmbedWordsResponse(vector=pb.Vector(values=[0.5]))
        )
    )
    assert facade.generate_embeddings("models/m", "one", client=CLIENT) == {"embedding": [0.5]}
    assert recorder.methods[-1].name == "EmbedWords"
    assert recorder.methods[-1].service == "fixtures.renamed_rpcs.WordService"
    facade.generate_embeddings("models/m", ["a", "b"], client=CLIENT)
    batch, model = recorder.embed_calls[-1]["batch"], recorder.embed_calls[-1]["model"]
    assert batch.method.name == "EmbedManyWords"
    assert batch.request(model, ["a"]) == pb.EmbedManyWordsRequest(model="models/m", texts=["a"])
    assert facade.count_text_tokens("models/m", "hi", client=CLIENT) == {"token_count": 7}
    assert recorder.methods[-1].name == "TallyWords"
    assert recorder.requests[-1] == pb.TallyWordsRequest(
        model="models/m", prompt=pb.Prompt(text="hi")
    )


CHECKS = (
    check_reserved_names,
    check_optional_scalars,
    check_message_argument,
    check_no_batch,
    check_docstring_escapes,
    check_renamed_rpcs,
)

if __name__ == "__main__":
    for check in CHECKS:
        check()
        print("passed:", check.__name__)
