"""Behaviour of the facades generated from the edge-case fixture protos (``tests/protos``).

Run in a subprocess on a package generated from ``protos/`` plus the fixtures (see
``tests/codegen/test_facade_golden.py``): ``python -m support.fixture_checks``. The fake server
only serves
the real API, so the runtime's ``call``, ``embed_one`` and ``embed_many`` are replaced by
recorders here; what is checked is the generated glue: parameter names, request building and result
shaping.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import importlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import betterproto2

from textservice._encoding.embed_requests import Document
from textservice._engine import embed as engine
from textservice._engine.output_formats import LIST
from textservice._engine.spec import EmbedSpec
from textservice._proto.google import protobuf as wkt
from textservice._transport import rpc
from textservice.client import Client

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

    async def embed_one(self, spec: EmbedSpec[Any, Any, Any, Any], text: str) -> list[float]:
        assert spec.output is LIST, spec.output
        one = spec.recipe.one
        request = one.request(spec.params, text)
        self.methods.append(one.method)
        self.requests.append(request)
        return list(one.vector(self.respond(request)))

    async def embed_many(
        self, spec: EmbedSpec[Any, Any, Any, Any], texts: list[str]
    ) -> list[list[float]]:
        assert spec.output is LIST, spec.output
        recipe = spec.recipe
        self.embed_calls.append(
            {"texts": texts, "single": recipe.one, "batch": recipe.many, "model": spec.params}
        )
        return [[float(len(getattr(t, "text", t)))] for t in texts]


def recording(respond: Responder) -> Recorder:
    recorder = Recorder(respond)
    rpc.call = recorder.call
    engine.embed_one = recorder.embed_one  # type: ignore[assignment]
    engine.embed_many = recorder.embed_many  # type: ignore[assignment]
    return recorder


CLIENT = Client("fixture-key")


def service_module(case: str, module: str = "_text_service") -> Any:
    """The fixture facade's service module (its method specs and ``_pb``)."""
    return importlib.import_module(f"textservice.{case}.{module}")


def expect_error(kind: type[Exception], words: str, call: Callable[[], object]) -> None:
    try:
        call()
    except kind as exc:
        assert words in str(exc), (words, str(exc))
    else:
        raise AssertionError(f"expected {kind.__name__} about {words}")


def check_reserved_names() -> None:
    facade = importlib.import_module("textservice.reserved_names")
    module = service_module("reserved_names")
    pb = module._pb
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
    module = service_module("optional_scalars")
    pb = module._pb
    assert module._GENERATE_TEXT.default_timeout == 12.5
    assert module._GENERATE_TEXT.default_retry is None
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
    module = service_module("message_argument")
    pb = module._pb
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
    module = service_module("no_batch")
    pb = module._pb
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
    module = service_module("docstring_escapes")
    pb = module._pb
    quoted = 'comments say """quoted""" and C:\\path\\to\\file and end with a "quote"'
    for where in (facade, module):
        assert quoted in (where.__doc__ or "")
    doc = facade.generate_embeddings.__doc__
    assert 'A regex: \\d+\\s*"""\\n and a lone backslash \\\n' in doc
    assert 'The text: """ and \\ both appear here.' in doc
    for source in (facade, module):
        assert all(len(line) <= 100 for line in inspect.getsource(source).splitlines())
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
    pb = service_module("renamed_rpcs", "_word_service")._pb
    # RPCs found by their shape: EmbedWords/EmbedManyWords embed, TallyWords counts tokens;
    # Ping and the deprecated Retired get plain functions; WatchWords streams: none
    assert facade.__all__ == [
        "ArrayEmbeddingDict",
        "BatchEmbeddingDict",
        "EmbeddingDict",
        "PingResponseDict",
        "TallyWordsResponseDict",
        "count_text_tokens",
        "count_text_tokens_async",
        "generate_embeddings",
        "generate_embeddings_async",
        "iter_embeddings",
        "iter_embeddings_async",
        "ping",
        "ping_async",
        "retired",
        "retired_async",
    ]
    assert not hasattr(facade, "generate_text") and not hasattr(facade, "watch_words")
    doc = facade.__doc__ or ""
    assert "Streaming RPCs get no function" in doc
    assert "WordService.WatchWords" in " ".join(doc.split())
    recorder = recording(
        lambda request: (
            pb.TallyWordsResponse(token_count=7)
            if isinstance(request, pb.TallyWordsRequest)
            else pb.PingResponse(note=request.note)
            if isinstance(request, pb.PingRequest)
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
    # a plain function: the request's fields as arguments, the response as a dict
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning without the deprecated field
        assert facade.ping("hello", client=CLIENT) == {"note": "hello"}
    assert recorder.methods[-1].name == "Ping"
    assert asyncio.run(facade.ping_async(note="again", client=CLIENT)) == {"note": "again"}
    expect_error(TypeError, "note", lambda: facade.ping(3, client=CLIENT))
    # deprecated: the RPC warns whenever called, the field when passed, at the caller's line

    async def awaiting() -> Any:
        return await facade.retired_async("older", client=CLIENT)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        assert facade.retired("old", client=CLIENT) == {"note": "old"}
        facade.ping("x", hint="h", client=CLIENT)
        assert asyncio.run(awaiting()) == {"note": "older"}
    assert [w.category for w in caught] == [DeprecationWarning] * 3
    assert "Retired RPC is deprecated" in str(caught[0].message)
    assert "PingRequest.hint is deprecated" in str(caught[1].message)
    assert [(w.filename, w.lineno) for w in caught] == [
        (__file__, line),
        (__file__, line + 1),
        (__file__, awaiting.__code__.co_firstlineno + 1),  # the await, in the caller's code
    ]
    assert recorder.requests[-2].hint == "h"
    assert "Deprecated: the protos mark the Retired RPC" in facade.retired.__doc__
    assert "passing it warns" in facade.ping.__doc__


def check_content_rpcs() -> None:
    facade = importlib.import_module("textservice.content_rpcs")
    pb = service_module("content_rpcs", "_content_service")._pb
    functions = sorted(n for n in facade.__all__ if n[0].islower())
    assert functions == sorted(
        f"{name}{twin}"
        for name in (
            "count_tokens",
            "embed_content",
            "generate_content",
            "get_model",
            "iter_embed_content",
            "list_models",
            "update_model",
        )
        for twin in ("", "_async")
    )
    assert not hasattr(facade, "stream_generate_content")
    assert "ContentService.StreamGenerateContent" in " ".join((facade.__doc__ or "").split())
    pages = {"": (["models/a", "models/b"], "p2"), "p2": (["models/c"], "")}

    def respond(request: Any) -> Any:
        if isinstance(request, pb.EmbedContentRequest):
            return pb.EmbedContentResponse(embedding=pb.ContentEmbedding(values=[1.0, 2.0]))
        if isinstance(request, pb.CountTokensRequest):
            words = sum(len(c.parts[0].text.split()) for c in request.contents)
            return pb.CountTokensResponse(total_tokens=words)
        if isinstance(request, pb.GenerateContentRequest):
            details = wkt.Struct(fields={"score": wkt.Value(number_value=0.5)})
            return pb.GenerateContentResponse(
                candidates=[pb.Candidate(content=request.contents[0], details=details)]
            )
        if isinstance(request, pb.ListModelsRequest):
            names, token = pages[request.page_token]
            return pb.ListModelsResponse(
                models=[pb.Model(name=n) for n in names], next_page_token=token
            )
        assert isinstance(request, pb.UpdateModelRequest | pb.GetModelRequest), request
        return pb.Model(name="models/a", labels={"k": "v"})

    recorder = recording(respond)
    # embed_content: the request written by hand is the one betterproto2 writes
    result = facade.embed_content(
        "models/m", "hi", task_type="document", title="T", output_dimensionality=2, client=CLIENT
    )
    assert result == {"embedding": [1.0, 2.0]}
    expected = pb.EmbedContentRequest(
        model="models/m",
        content=pb.Content(parts=[pb.Part(text="hi")]),
        task_type=pb.TaskType.RETRIEVAL_DOCUMENT,
        title="T",
        output_dimensionality=2,
    )
    assert bytes(recorder.requests[-1]) == bytes(expected)
    assert recorder.methods[-1].name == "EmbedContent"
    # a list: BatchEmbedContents of requests, each item's title on its own request
    facade.embed_content(
        "models/m", ["a", {"text": "b", "title": "B"}], task_type="document", client=CLIENT
    )
    call = recorder.embed_calls[-1]
    assert call["texts"] == [Document("a"), Document("b", "B")]
    assert call["batch"].method.name == "BatchEmbedContents" and call["batch"].max_texts == 100
    sent = pb.BatchEmbedContentsRequest.FromString(
        bytes(call["batch"].request(call["model"], call["texts"]))
    )
    assert [(r.content.parts[0].text, r.title) for r in sent.requests] == [("a", None), ("b", "B")]
    # this version's TaskType has no SEMANTIC_SIMILARITY: its names are refused
    expect_error(
        ValueError,
        "is not a TaskType",
        lambda: facade.embed_content("models/m", "x", task_type="similarity", client=CLIENT),
    )
    facade.embed_content("models/m", "x", task_type="CLUSTERING", client=CLIENT)
    assert recorder.requests[-1].task_type == pb.TaskType.CLUSTERING
    # count_tokens takes a str, contents or mappings
    assert facade.count_tokens("models/m", "one two", client=CLIENT) == {"total_tokens": 2}
    assert facade.count_tokens("models/m", ["a", {"parts": [{"text": "b c"}]}], client=CLIENT) == {
        "total_tokens": 3
    }
    # a plain generate_content, its Struct a dict
    reply = facade.generate_content("models/m", "hello", client=CLIENT)
    assert reply["candidates"][0]["details"] == {"score": 0.5}
    assert reply["candidates"][0]["content"]["parts"][0]["text"] == "hello"
    # list_models follows every page
    assert [m["name"] for m in facade.list_models(page_size=2, client=CLIENT)] == [
        "models/a",
        "models/b",
        "models/c",
    ]
    assert [r.page_token for r in recorder.requests[-2:]] == ["", "p2"]
    # a FieldMask argument (google.protobuf), a map and well-known types back
    updated = facade.update_model({"name": "models/a"}, {"paths": ["labels"]}, client=CLIENT)
    assert recorder.requests[-1].update_mask.paths == ["labels"]
    assert updated["labels"] == {"k": "v"} and updated["create_time"] is None
    assert updated["extra"] is None and updated["tags"] is None and updated["details"] is None


def _warnings(call: Callable[[], object]) -> list[warnings.WarningMessage]:
    """The warnings ``call`` gives (every one, even repeated)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


def check_renamed_options() -> None:
    facade = importlib.import_module("textservice.renamed_options")
    module = service_module("renamed_options", "_embedding_service")
    pb = module._pb
    # EmbedContentV2 has EmbedContent's shape: embed_content stays EmbedContent's (the table
    # names it) and EmbedContentV2 gets a plain function; neither stopped generation
    functions = sorted(n for n in facade.__all__ if n[0].islower() and not n.endswith("_async"))
    assert functions == ["embed_content", "embed_content_v2", "iter_embed_content"], functions
    names = list(inspect.signature(facade.embed_content).parameters)
    assert names[:5] == ["model", "content", "purpose", "document_title", "dimensions"], names
    # the options keep their roles under their new names: found by field number and type
    recipe = module._EMBED_CONTENT_RECIPE
    assert (recipe.fields.title, recipe.task_type, recipe.dimensionality) == (
        "document_title",
        "purpose",
        "dimensions",
    )
    recorder = recording(
        lambda request: pb.EmbedContentResponse(embedding=pb.ContentEmbedding(values=[1.0]))
    )
    expect_error(
        ValueError,
        "RETRIEVAL_DOCUMENT",
        lambda: facade.embed_content("models/m", "x", document_title="T", client=CLIENT),
    )
    expect_error(
        ValueError,
        "RETRIEVAL_DOCUMENT",
        lambda: facade.embed_content("models/m", {"text": "x", "title": "T"}, client=CLIENT),
    )
    expect_error(
        ValueError,
        "positive",
        lambda: facade.embed_content("models/m", "x", dimensions=0, client=CLIENT),
    )

    # the title is deprecated: passing one warns, at the caller's line, under the function
    # the caller called, and so does an item's own title
    def titled() -> object:
        return facade.embed_content(
            "models/m", "x", purpose="document", document_title="T", client=CLIENT
        )

    caught = _warnings(titled)
    assert [str(w.message) for w in caught] == [
        "textservice.renamed_options.embed_content(document_title=...): the field "
        "EmbedContentRequest.document_title is deprecated in fixtures.renamed_options"
    ]
    assert (caught[0].filename, caught[0].lineno) == (__file__, titled.__code__.co_firstlineno + 1)
    sent = recorder.requests[-1]
    assert (sent.purpose, sent.document_title) == (pb.TaskType.RETRIEVAL_DOCUMENT, "T")
    items = ["a", {"text": "b", "title": "B"}]
    caught = _warnings(
        lambda: facade.embed_content("models/m", items, purpose="document", client=CLIENT)
    )
    assert [str(w.message) for w in caught] == [
        "textservice.renamed_options.embed_content: item 1's title: the field "
        "EmbedContentRequest.document_title is deprecated in fixtures.renamed_options"
    ]
    caught = _warnings(  # arguments are checked at once; the iterator is left unstarted
        lambda: facade.iter_embed_content(
            "models/m", ["a"], purpose="document", document_title="T", client=CLIENT
        ).close()
    )
    assert [str(w.message).split(":")[0] for w in caught] == [
        "textservice.renamed_options.iter_embed_content(document_title=...)"
    ]

    async def awaited() -> object:
        return await facade.embed_content_async("models/m", [items[1]], purpose=2, client=CLIENT)

    caught = _warnings(lambda: asyncio.run(awaited()))
    assert [str(w.message).split(":")[0] for w in caught] == [
        "textservice.renamed_options.embed_content_async"
    ]
    assert caught[0].lineno == awaited.__code__.co_firstlineno + 1
    # no title, no warning
    assert _warnings(lambda: facade.embed_content("models/m", "x", client=CLIENT)) == []
    # the plain function of the other RPC: the request's fields, the response as a dict
    assert facade.embed_content_v2("models/m", "hi", dimensions=3, client=CLIENT) == {
        "embedding": {"values": [1.0]}
    }
    assert recorder.methods[-1].name == "EmbedContentV2"
    assert recorder.requests[-1].content == pb.Content(parts=[pb.Part(text="hi")])


def check_nested_arguments() -> None:
    facade = importlib.import_module("textservice.nested_arguments")
    pb = service_module("nested_arguments", "_cache_service")._pb
    recorder = recording(
        lambda request: (
            pb.PredictResponse(predictions=request.instances)
            if isinstance(request, pb.PredictRequest)
            else request.cache
            if isinstance(request, pb.CreateCacheRequest)
            else pb.Settings(level=request.level)
        )
    )
    # google.protobuf.Value, Struct and ListValue arguments take JSON-like values
    when = datetime.datetime(2026, 8, 22, 12, tzinfo=datetime.UTC)
    answer = facade.predict(
        "models/m",
        [{"prompt": "a cat", "n": 2, "ok": True, "tags": ["x", None]}, "plain", 1.5],
        parameters={"sampleCount": 4},
        labels={"team": "ml", "depth": [1, {"deep": None}]},
        tags=("a", 2),
        deadline=when,
        budget=datetime.timedelta(seconds=90),
        retries=3,
        client=CLIENT,
    )
    assert answer["predictions"] == [
        {"prompt": "a cat", "n": 2.0, "ok": True, "tags": ["x", None]},
        "plain",
        1.5,
    ]
    request = recorder.requests[-1]
    assert request.parameters == wkt.Value(
        struct_value=wkt.Struct(fields={"sampleCount": wkt.Value(number_value=4.0)})
    )
    assert request.labels.fields["depth"].list_value.values[1].struct_value.fields[
        "deep"
    ] == wkt.Value(null_value=wkt.NullValue.NULL_VALUE)
    assert [v.to_dict() for v in request.tags.values] == ["a", 2.0]
    assert (request.deadline, request.budget, request.retries) == (
        when,
        datetime.timedelta(seconds=90),
        3,
    )
    decoded = pb.PredictRequest.parse(bytes(request))  # as the server reads it
    assert decoded.instances[1] == wkt.Value(string_value="plain") and decoded.retries == 3
    bad_arguments: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"instances": [float("nan")]}, ValueError, "instances[0] must be a finite number"),
        ({"labels": {1: "x"}}, TypeError, "labels: keys must be str"),
        ({"parameters": {"a": {1, 2}}}, TypeError, "parameters['a'] must be a JSON-like value"),
        ({"tags": "abc"}, TypeError, "tags must be a sequence"),
        ({"deadline": datetime.datetime(2026, 1, 1)}, ValueError, "deadline must be timezone"),
        ({"budget": 90}, TypeError, "budget must be a datetime.timedelta"),
        ({"retries": "3"}, TypeError, "retries must be an int"),
    ]
    for bad, kind, words in bad_arguments:
        arguments: dict[str, Any] = {"model": "models/m", "client": CLIENT, **bad}
        expect_error(kind, words, functools.partial(facade.predict, **arguments))
    # a str for a Content in a message argument's mapping, at any depth, as for a Content
    # argument (one text part); nothing deprecated set, no warning
    caught = _warnings(
        lambda: facade.create_cache(
            {"contents": ["hi", {"parts": [{"text": "there"}]}], "system_instruction": "be brief"},
            client=CLIENT,
        )
    )
    assert caught == []
    cache = recorder.requests[-1].cache
    assert cache.contents == [
        pb.Content(parts=[pb.Part(text="hi")]),
        pb.Content(parts=[pb.Part(text="there")]),
    ]
    assert cache.system_instruction == pb.Content(parts=[pb.Part(text="be brief")])
    facade.create_cache({"contents": "one"}, client=CLIENT)
    assert recorder.requests[-1].cache.contents == [pb.Content(parts=[pb.Part(text="one")])]
    expect_error(ValueError, "cache", lambda: facade.create_cache({"contents": [5]}))

    # deprecated things deep in an argument warn at the caller's line, naming the function,
    # the argument and where in it: a field, and an enum value by name or as a member
    def deprecated_things() -> None:
        facade.create_cache({"settings": {"legacy": "x", "level": "LEVEL_OLD"}}, client=CLIENT)
        facade.set_level(pb.Level.OLD, client=CLIENT)
        facade.set_level("LEVEL_LOW", client=CLIENT)

    caught = _warnings(deprecated_things)
    # (betterproto2 warns too, about the field, from inside textservice._proto: hidden by
    # Python's default filters, and not about the enum value)
    caught = [w for w in caught if w.filename == __file__]
    assert [str(w.message) for w in caught] == [
        "textservice.nested_arguments.create_cache(cache=...): cache.settings.level: the Level "
        "LEVEL_OLD is deprecated in fixtures.nested_arguments",
        "textservice.nested_arguments.create_cache(cache=...): cache.settings.legacy: the field "
        "Settings.legacy is deprecated in fixtures.nested_arguments",
        "textservice.nested_arguments.set_level(level=...): level: the Level LEVEL_OLD is "
        "deprecated in fixtures.nested_arguments",
    ]
    first = deprecated_things.__code__.co_firstlineno
    assert [w.lineno for w in caught] == [first + 1, first + 1, first + 2]


CHECKS = (
    check_reserved_names,
    check_optional_scalars,
    check_message_argument,
    check_no_batch,
    check_docstring_escapes,
    check_renamed_rpcs,
    check_content_rpcs,
    check_renamed_options,
    check_nested_arguments,
)

if __name__ == "__main__":
    for check in CHECKS:
        check()
        print("passed:", check.__name__)
