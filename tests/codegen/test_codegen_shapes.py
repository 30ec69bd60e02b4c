"""RPC shapes (codegen/shapes.py): hand-built models first (no protoc), then real protos."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from codegen.descriptors import load_packages
from codegen.facade import dependency_packages, facade_packages
from codegen.facade_plan import package_matches, plan_facade
from codegen.golden import FIXTURE_PROTOS
from codegen.model import ApiPackage, Field, Kind, Message, Method, Service
from codegen.names import python_field_name
from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT, Layout, api_protos
from codegen.protoc import run_protoc
from codegen.shapes import (
    FRIENDLY_FUNCTIONS,
    FriendlyFunction,
    Payload,
    Shape,
    classify,
    classify_service,
    match_service,
)

PKG = "test.shapes.v1"


def f(name: str, number: int, kind: Kind, **kw: Any) -> Field:
    return Field(name=name, python_name=python_field_name(name), number=number, kind=kind, **kw)


def ref(name: str) -> str:
    return f"{PKG}.{name}"


def msg(name: str, *fields: Field) -> Message:
    return Message(full_name=ref(name), python_name=name, package=PKG, fields=fields)


def message_field(name: str, number: int, type_name: str, **kw: Any) -> Field:
    return f(name, number, Kind.MESSAGE, type_name=ref(type_name), **kw)


MODEL = f("model", 1, Kind.STRING)
MESSAGES = [
    # payloads
    msg("Prompt", f("text", 1, Kind.STRING)),
    msg("Part", f("text", 1, Kind.STRING, oneof="data"), f("blob", 2, Kind.BYTES, oneof="data")),
    msg("Content", message_field("parts", 1, "Part", repeated=True), f("role", 2, Kind.STRING)),
    # embeddings
    msg("Vector", f("values", 1, Kind.FLOAT, repeated=True)),
    msg("EmbedRequest", MODEL, f("text", 2, Kind.STRING)),
    msg("EmbedResponse", message_field("vector", 1, "Vector")),
    msg("BatchRequest", MODEL, f("texts", 2, Kind.STRING, repeated=True)),
    msg("BatchResponse", message_field("vectors", 1, "Vector", repeated=True)),
    msg("EmbedContentRequest", MODEL, message_field("content", 2, "Content")),
    msg(
        "BatchContentsRequest",
        MODEL,
        message_field("requests", 2, "EmbedContentRequest", repeated=True),
    ),
    # counting and generating
    msg("CountRequest", MODEL, message_field("prompt", 2, "Prompt")),
    msg("CountContentsRequest", MODEL, message_field("contents", 2, "Content", repeated=True)),
    msg("CountResponse", f("total_tokens", 1, Kind.INT32), f("cached", 2, Kind.INT32)),
    msg("Candidate", f("output", 1, Kind.STRING)),
    msg("ContentCandidate", message_field("content", 1, "Content")),
    msg("GenerateResponse", message_field("candidates", 1, "Candidate", repeated=True)),
    msg(
        "GenerateContentResponse", message_field("candidates", 1, "ContentCandidate", repeated=True)
    ),
    msg(
        "GenerateWithUsage",
        message_field("candidates", 1, "Candidate", repeated=True),
        f("total_tokens", 2, Kind.INT32),
    ),
    # plain
    msg("PingRequest", f("note", 1, Kind.STRING)),
    msg("GetModelRequest", f("name", 1, Kind.STRING)),
    msg("Model", f("name", 1, Kind.STRING), f("token_limit", 2, Kind.INT32)),
    # pages
    msg("ListModelsRequest", f("page_size", 1, Kind.INT32), f("page_token", 2, Kind.STRING)),
    msg(
        "ListModelsResponse",
        message_field("models", 1, "Model", repeated=True),
        f("next_page_token", 2, Kind.STRING),
    ),
    msg(
        "TwoListsResponse",
        message_field("models", 1, "Model", repeated=True),
        message_field("others", 2, "Model", repeated=True),
        f("next_page_token", 3, Kind.STRING),
    ),
]


def method(name: str, request: str, response: str, signature: str = "", **kw: Any) -> Method:
    signatures = (tuple(signature.split(",")),) if signature else ()
    return Method(name, ref(request), ref(response), signatures, **kw)


def api(*methods: Method, messages: list[Message] | None = None) -> ApiPackage:
    return ApiPackage(
        package=PKG,
        files=("test/shapes/v1/service.proto",),
        services=(Service("Svc", ref("Svc"), tuple(methods)),),
        messages={m.full_name: m for m in (messages or MESSAGES)},
    )


def shapes_of(package: ApiPackage) -> dict[str, tuple[Shape, Payload | None]]:
    service = package.services[0]
    return {c.method.name: (c.shape, c.payload) for c in classify_service(service, package)}


# -- hand-built models ------------------------------------------------------------------------


def test_shapes_are_recognised_by_structure_not_names() -> None:
    package = api(
        method("A", "EmbedRequest", "EmbedResponse", "model,text"),
        method("B", "BatchRequest", "BatchResponse", "model,texts"),
        method("C", "EmbedContentRequest", "EmbedResponse", "model,content"),
        method("D", "BatchContentsRequest", "BatchResponse", "model,requests"),
        method("E", "CountRequest", "CountResponse", "model,prompt"),
        method("F", "CountContentsRequest", "CountResponse", "model,contents"),
        method("G", "CountRequest", "GenerateResponse", "model,prompt"),
        method("H", "CountContentsRequest", "GenerateContentResponse", "model,contents"),
        method("I", "PingRequest", "PingRequest"),
        method("J", "GetModelRequest", "Model", "name"),
        method("K", "EmbedRequest", "EmbedResponse", server_streaming=True),
        method("L", "CountContentsRequest", "GenerateContentResponse", client_streaming=True),
        method("M", "CountRequest", "GenerateWithUsage", "model,prompt"),
        method("N", "ListModelsRequest", "ListModelsResponse"),
    )
    assert shapes_of(package) == {
        "A": (Shape.EMBED, Payload.TEXT),
        "B": (Shape.BATCH_EMBED, Payload.TEXTS),
        "C": (Shape.EMBED, Payload.CONTENT),
        "D": (Shape.BATCH_EMBED, Payload.REQUESTS),
        "E": (Shape.COUNT_TOKENS, Payload.PROMPT),
        "F": (Shape.COUNT_TOKENS, Payload.CONTENTS),
        "G": (Shape.GENERATE, Payload.PROMPT),
        "H": (Shape.GENERATE, Payload.CONTENTS),
        "I": (Shape.PLAIN, None),
        "J": (Shape.PLAIN, None),
        "K": (Shape.STREAMING, None),
        "L": (Shape.STREAMING, None),
        "M": (Shape.GENERATE, Payload.PROMPT),  # candidates win over a token count beside them
        "N": (Shape.LIST, None),
    }


def test_a_list_rpc_has_page_fields_and_one_repeated_message_field() -> None:
    package = api(
        method("Pages", "ListModelsRequest", "ListModelsResponse"),
        method("NoToken", "GetModelRequest", "ListModelsResponse"),  # no page_size/page_token
        method("NoNext", "ListModelsRequest", "Model"),  # no next_page_token
        method("Two", "ListModelsRequest", "TwoListsResponse"),  # which list?
    )
    assert shapes_of(package) == {
        "Pages": (Shape.LIST, None),
        "NoToken": (Shape.PLAIN, None),
        "NoNext": (Shape.PLAIN, None),
        "Two": (Shape.PLAIN, None),
    }


def test_the_payload_comes_from_the_signature_else_the_first_settable_field() -> None:
    # no signature: the first field after `model` that can be a payload
    package = api(method("A", "EmbedRequest", "EmbedResponse"))
    (only,) = classify_service(package.services[0], package)
    assert only.payload_field is not None and only.payload_field.name == "text"
    # the signature names the payload: a second string field is not taken for it
    request = msg("EmbedRequest", MODEL, f("label", 2, Kind.STRING), f("text", 3, Kind.STRING))
    messages = [m for m in MESSAGES if m.python_name != "EmbedRequest"] + [request]
    package = api(method("A", "EmbedRequest", "EmbedResponse", "model,text"), messages=messages)
    (only,) = classify_service(package.services[0], package)
    assert only.payload_field is not None and only.payload_field.name == "text"


def test_near_misses_are_plain() -> None:
    no_model = msg("NoModelRequest", f("text", 1, Kind.STRING))
    repeated_model = msg("ManyModelsRequest", f("model", 1, Kind.STRING, repeated=True),
                         f("text", 2, Kind.STRING))  # fmt: skip
    no_floats = msg("NoVector", f("values", 1, Kind.INT32, repeated=True))
    deep = msg("Deep", message_field("vector", 1, "EmbedResponse"))  # two messages deep
    messages = [*MESSAGES, no_model, repeated_model, no_floats, deep]
    package = api(
        method("A", "NoModelRequest", "EmbedResponse"),
        method("B", "ManyModelsRequest", "EmbedResponse"),
        method("C", "EmbedRequest", "NoVector"),
        method("D", "EmbedRequest", "Deep"),
        method("E", "CountRequest", "PingRequest"),  # neither tokens nor candidates back
        method("F", "EmbedRequest", "CountResponse"),  # counting a plain string: not in scope
        messages=messages,
    )
    assert set(shapes_of(package).values()) == {(Shape.PLAIN, None)}


def test_a_batch_of_requests_pairs_with_the_rpc_embedding_one_of_them() -> None:
    package = api(
        method("One", "EmbedContentRequest", "EmbedResponse", "model,content"),
        method("Many", "BatchContentsRequest", "BatchResponse", "model,requests"),
    )
    assert shapes_of(package)["Many"] == (Shape.BATCH_EMBED, Payload.REQUESTS)
    row = FriendlyFunction("embed_content", Shape.EMBED, Payload.CONTENT)
    (match,) = match_service(package.services[0], package, table=[row])
    assert match.rpc.method.name == "One"
    assert match.batch is not None and match.batch.method.name == "Many"
    # a batch of requests of another type is not this RPC's batch
    alone = api(method("Many", "BatchContentsRequest", "BatchResponse", "model,requests"))
    assert shapes_of(alone)["Many"] == (Shape.PLAIN, None)  # no single-embed RPC beside it


def test_the_table_decides_which_shapes_get_functions() -> None:
    assert [(r.name, r.shape, r.payload) for r in FRIENDLY_FUNCTIONS] == [
        ("generate_embeddings", Shape.EMBED, Payload.TEXT),
        ("embed_content", Shape.EMBED, Payload.CONTENT),
        ("generate_text", Shape.GENERATE, Payload.PROMPT),
        ("count_text_tokens", Shape.COUNT_TOKENS, Payload.PROMPT),
        ("count_tokens", Shape.COUNT_TOKENS, Payload.CONTENTS),
    ]
    package = api(
        method("Embed", "EmbedRequest", "EmbedResponse", "model,text"),
        method("Embeds", "BatchRequest", "BatchResponse", "model,texts"),
        method("Count", "CountContentsRequest", "CountResponse", "model,contents"),
        method("Generate", "CountContentsRequest", "GenerateContentResponse", "model,contents"),
        method("Ping", "PingRequest", "PingRequest"),
        method("ListModels", "ListModelsRequest", "ListModelsResponse"),
    )
    matches = package_matches(package)
    assert [(m.function.name, m.rpc.method.name) for m in matches] == [
        ("generate_embeddings", "Embed"),
        ("count_tokens", "Count"),
    ]
    assert matches[0].batch is not None and matches[0].batch.method.name == "Embeds"
    plan = plan_facade(package)
    # the rows' functions, then a plain one named after each other unary RPC (Generate: a
    # shape with no row); ListModels iterates over its pages
    assert plan.functions == (
        "generate_embeddings",
        "generate_embeddings_async",
        "iter_embeddings",
        "iter_embeddings_async",
        "count_tokens",
        "count_tokens_async",
        "generate",
        "generate_async",
        "ping",
        "ping_async",
        "list_models",
        "list_models_async",
    )
    listing = plan.rpc_function("list_models")
    assert listing is not None and listing.paging is not None
    assert (listing.paging.items, listing.returns) == ("models", "ModelDict")
    ping = plan.rpc_function("ping")
    assert ping is not None and ping.paging is None and ping.returns == "PingRequestDict"


def _wrapped(package: ApiPackage, table: tuple[FriendlyFunction, ...]) -> dict[str, str]:
    return {
        m.function.name: m.rpc.method.name
        for m in match_service(package.services[0], package, table)
    }


def test_two_rpcs_of_one_row_the_table_names_one_and_the_other_stays_plain() -> None:
    # an API grows an EmbedTextV2 of the same request and response: neither stops generation
    package = api(
        method("EmbedTextV2", "EmbedRequest", "EmbedResponse", "model,text"),
        method("EmbedText", "EmbedRequest", "EmbedResponse", "model,text"),
        method("BatchEmbedText", "BatchRequest", "BatchResponse", "model,texts"),
    )
    (match,) = match_service(package.services[0], package)
    assert (match.function.name, match.rpc.method.name) == ("generate_embeddings", "EmbedText")
    assert match.batch is not None and match.batch.method.name == "BatchEmbedText"
    plan = plan_facade(package)
    assert plan.embeddings is not None and plan.embeddings.single.name == "EmbedText"
    assert [f.name for f in plan.rpc_functions] == ["embed_text_v2"]  # plain, by its name
    assert plan.rpc_functions[0].method.name == "EmbedTextV2"


def test_a_tie_no_table_names_goes_by_the_rows_name_then_by_declaration() -> None:
    row = FriendlyFunction("count_words", Shape.COUNT_TOKENS, Payload.PROMPT)
    named = api(
        method("Tally", "CountRequest", "CountResponse", "model,prompt"),
        method("CountWords", "CountRequest", "CountResponse", "model,prompt"),
    )
    assert _wrapped(named, (row,)) == {"count_words": "CountWords"}
    unnamed = api(
        method("Tally", "CountRequest", "CountResponse", "model,prompt"),
        method("Reckon", "CountRequest", "CountResponse", "model,prompt"),
    )
    assert _wrapped(unnamed, (row,)) == {"count_words": "Tally"}
    listed = FriendlyFunction("count_words", Shape.COUNT_TOKENS, Payload.PROMPT, rpcs=("Reckon",))
    assert _wrapped(unnamed, (listed,)) == {"count_words": "Reckon"}


def test_two_batch_rpcs_of_one_single_rpc_the_named_one_is_used() -> None:
    package = api(
        method("Embed", "EmbedRequest", "EmbedResponse", "model,text"),
        method("EmbedManyFast", "BatchRequest", "BatchResponse", "model,texts"),
        method("BatchEmbed", "BatchRequest", "BatchResponse", "model,texts"),
    )
    (match,) = match_service(package.services[0], package)
    assert match.batch is not None and match.batch.method.name == "BatchEmbed"
    plan = plan_facade(package)
    assert [f.name for f in plan.rpc_functions] == ["embed_many_fast"]


def test_two_services_with_one_rows_shape_the_table_names_the_rpc() -> None:
    first = Service(
        "Old", ref("Old"), (method("Tally", "CountContentsRequest", "CountResponse", "model"),)
    )
    second = Service(
        "New",
        ref("New"),
        (method("CountTokens", "CountContentsRequest", "CountResponse", "model"),),
    )
    package = ApiPackage(
        package=PKG,
        files=("test/shapes/v1/service.proto",),
        services=(first, second),
        messages={m.full_name: m for m in MESSAGES},
    )
    matches = package_matches(package)
    assert [(m.service.name, m.rpc.method.name) for m in matches] == [("New", "CountTokens")]
    plan = plan_facade(package)
    assert plan.exports["count_tokens"] == "_new" and plan.exports["tally"] == "_old"


def test_classify_without_the_service_sees_no_batch_of_requests() -> None:
    package = api(
        method("One", "EmbedContentRequest", "EmbedResponse", "model,content"),
        method("Many", "BatchContentsRequest", "BatchResponse", "model,requests"),
    )
    many = package.services[0].methods[1]
    assert classify(many, package).shape is Shape.PLAIN
    assert classify(many, package, package.services[0]).shape is Shape.BATCH_EMBED


# -- real protos: the vendored API and the renamed-RPC fixture ----------------------------------


def _packages(protos: Path) -> dict[str, ApiPackage]:
    files = api_protos(protos)
    with tempfile.TemporaryDirectory() as tmp:
        data = run_protoc(protos, files, Path(tmp)).descriptor_set.read_bytes()
    return {p.package: p for p in load_packages(data, protos, [x.as_posix() for x in files])}


@pytest.fixture(scope="module")
def vendored() -> dict[str, ApiPackage]:
    return _packages(Layout.default().protos)


def _service_shapes(package: ApiPackage, service: str) -> dict[str, tuple[Shape, Payload | None]]:
    found = package.service(service)
    assert found is not None
    return {c.method.name: (c.shape, c.payload) for c in classify_service(found, package)}


KNOWN_SHAPES: dict[str, tuple[Shape, Payload | None]] = {
    "GenerateContent": (Shape.GENERATE, Payload.CONTENTS),
    "StreamGenerateContent": (Shape.STREAMING, None),
    "BidiGenerateContent": (Shape.STREAMING, None),
    "EmbedContent": (Shape.EMBED, Payload.CONTENT),
    "BatchEmbedContents": (Shape.BATCH_EMBED, Payload.REQUESTS),
    "CountTokens": (Shape.COUNT_TOKENS, Payload.CONTENTS),
    "GenerateAnswer": (Shape.PLAIN, None),
    "GenerateText": (Shape.GENERATE, Payload.PROMPT),
    "EmbedText": (Shape.EMBED, Payload.TEXT),
    "BatchEmbedText": (Shape.BATCH_EMBED, Payload.TEXTS),
    "CountTextTokens": (Shape.COUNT_TOKENS, Payload.PROMPT),
    "ListModels": (Shape.LIST, None),
    "GetModel": (Shape.PLAIN, None),
}
"""What the API's RPCs are, wherever a version has them (whichever others it has)."""


@pytest.mark.subprocess
def test_the_apis_rpcs_have_their_shapes_in_every_version(vendored: dict[str, ApiPackage]) -> None:
    checked = 0
    for package in vendored.values():
        for service in package.services:
            for c in classify_service(service, package):
                if c.method.streaming:  # what the descriptors say, whatever the RPC
                    assert c.shape is Shape.STREAMING, c.method.name
                if c.method.name in KNOWN_SHAPES:
                    assert (c.shape, c.payload) == KNOWN_SHAPES[c.method.name], c.method.name
                    checked += 1
    assert checked > 0


@pytest.mark.subprocess
def test_which_rpcs_get_friendly_functions(vendored: dict[str, ApiPackage]) -> None:
    # a row's function wraps the RPC its table names wherever a service has it (and, in a
    # version without it, an RPC of its shape under another name)
    for package in vendored.values():
        wrapped = {(m.service.name, m.rpc.method.name) for m in package_matches(package)}
        named = {
            (s.name, m.name)
            for s in package.services
            for m in s.methods
            for row in FRIENDLY_FUNCTIONS
            if m.name in row.rpcs
        }
        assert named <= wrapped, package.package
    assert not package_matches(vendored["google.longrunning"])


@pytest.mark.subprocess
def test_every_api_version_gets_a_facade_and_a_vendored_dependency_none(
    vendored: dict[str, ApiPackage],
) -> None:
    packages = list(vendored.values())
    # google.longrunning has unary RPCs, but it is there for v1beta's tuned models
    assert dependency_packages(packages) == {"google.longrunning"}
    versions = {p.version for p in facade_packages(packages)}
    assert versions == {p.name for p in (REPO_ROOT / "protos" / PROTO_PACKAGE_DIR).iterdir()}
    assert versions >= {"v1", "v1beta", "v1beta2", "v1beta3"}


@pytest.mark.subprocess
def test_renamed_rpcs_fixture(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    source = FIXTURE_PROTOS / "fixtures" / "renamed_rpcs"
    (protos / "fixtures" / "renamed_rpcs").mkdir(parents=True)
    for path in source.iterdir():
        (protos / "fixtures" / "renamed_rpcs" / path.name).write_bytes(path.read_bytes())
    package = _packages(protos)["fixtures.renamed_rpcs"]
    assert _service_shapes(package, "WordService") == {
        "EmbedWords": (Shape.EMBED, Payload.TEXT),
        "EmbedManyWords": (Shape.BATCH_EMBED, Payload.TEXTS),
        "TallyWords": (Shape.COUNT_TOKENS, Payload.PROMPT),
        "Ping": (Shape.PLAIN, None),
        "Retired": (Shape.PLAIN, None),
        "WatchWords": (Shape.STREAMING, None),
    }
    service = package.service("WordService")
    assert service is not None
    retired, ping = service.method("Retired"), service.method("Ping")
    assert retired is not None and retired.deprecated
    assert ping is not None and not ping.deprecated
    hint = package.message("fixtures.renamed_rpcs.PingRequest").field("hint")
    assert hint is not None and hint.deprecated
    matches = {m.function.name: m for m in package_matches(package)}
    assert sorted(matches) == ["count_text_tokens", "generate_embeddings"]
    embed = matches["generate_embeddings"]
    assert embed.rpc.method.name == "EmbedWords"
    assert embed.batch is not None and embed.batch.method.name == "EmbedManyWords"
    assert matches["count_text_tokens"].rpc.method.name == "TallyWords"
