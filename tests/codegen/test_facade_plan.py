"""The facade generator without protoc: hand-built API models -> plan -> rendered Python."""

from __future__ import annotations

import ast
import builtins
import keyword
from typing import Any

import jinja2
import pytest

from codegen.errors import CodegenError
from codegen.facade import render_plan
from codegen.facade_plan import plan_facade
from codegen.model import (
    ApiPackage,
    Behavior,
    EnumType,
    Field,
    Kind,
    Message,
    Method,
    MethodPolicy,
    RetryPolicy,
    Service,
)
from codegen.names import parameter_name, python_field_name
from codegen.templating import environment, py_literal

PKG = "test.api.v9"
REQUIRED = frozenset({Behavior.REQUIRED})


def f(name: str, number: int, kind: Kind, **kw: Any) -> Field:
    return Field(name=name, python_name=python_field_name(name), number=number, kind=kind, **kw)


def msg(name: str, *fields: Field, comment: str = "") -> Message:
    return Message(full_name=f"{PKG}.{name}", python_name=name, package=PKG, fields=fields,
                   comment=comment)  # fmt: skip


def ref(name: str) -> str:
    return f"{PKG}.{name}"


PROMPT = msg("TextPrompt", f("text", 1, Kind.STRING, behaviors=REQUIRED))
EMBEDDING = msg("Embedding", f("value", 1, Kind.FLOAT, repeated=True))
CANDIDATE = msg("Candidate", f("output", 1, Kind.STRING))
MODE = EnumType(full_name=ref("Mode"), python_name="Mode", package=PKG)
GEN_REQUEST = msg(
    "GenerateTextRequest",
    f("model", 1, Kind.STRING, behaviors=REQUIRED),
    f("prompt", 2, Kind.MESSAGE, type_name=ref("TextPrompt"), behaviors=REQUIRED),
    f("temperature", 3, Kind.FLOAT, proto3_optional=True),
    f("stop_sequences", 4, Kind.STRING, repeated=True),
    f("mode", 5, Kind.ENUM, type_name=ref("Mode")),
    f("note", 6, Kind.STRING, behaviors=frozenset({Behavior.OUTPUT_ONLY})),
)
GEN_RESPONSE = msg(
    "GenerateTextResponse",
    f("candidates", 1, Kind.MESSAGE, repeated=True, type_name=ref("Candidate")),
    f("mode", 2, Kind.ENUM, type_name=ref("Mode")),
    comment="The response.",
)
EMBED_REQUEST = msg("EmbedTextRequest", f("model", 1, Kind.STRING), f("text", 2, Kind.STRING))
EMBED_RESPONSE = msg(
    "EmbedTextResponse", f("embedding", 1, Kind.MESSAGE, type_name=ref("Embedding"))
)
BATCH_REQUEST = msg(
    "BatchEmbedTextRequest",
    f("model", 1, Kind.STRING),
    f("texts", 2, Kind.STRING, repeated=True),
)
BATCH_RESPONSE = msg(
    "BatchEmbedTextResponse",
    f("embeddings", 1, Kind.MESSAGE, repeated=True, type_name=ref("Embedding")),
)
COUNT_REQUEST = msg(
    "CountTextTokensRequest",
    f("model", 1, Kind.STRING, behaviors=REQUIRED),
    f("prompt", 2, Kind.MESSAGE, type_name=ref("TextPrompt"), behaviors=REQUIRED),
)
COUNT_RESPONSE = msg("CountTextTokensResponse", f("token_count", 1, Kind.INT32))
RETRY = RetryPolicy(5, 1.0, 10.0, 1.3, ("UNAVAILABLE",))

METHODS = {
    "GenerateText": Method(
        "GenerateText",
        ref("GenerateTextRequest"),
        ref("GenerateTextResponse"),
        signatures=(("model", "prompt", "temperature"),),
        comment="Generates text.",
        policy=MethodPolicy(60.0, RETRY),
    ),
    "EmbedText": Method(
        "EmbedText", ref("EmbedTextRequest"), ref("EmbedTextResponse"), (("model", "text"),)
    ),
    "BatchEmbedText": Method(
        "BatchEmbedText",
        ref("BatchEmbedTextRequest"),
        ref("BatchEmbedTextResponse"),
        (("model", "texts"),),
    ),
    "CountTextTokens": Method(
        "CountTextTokens",
        ref("CountTextTokensRequest"),
        ref("CountTextTokensResponse"),
        (("model", "prompt"),),
    ),
}
MESSAGES = [
    PROMPT, EMBEDDING, CANDIDATE, GEN_REQUEST, GEN_RESPONSE, EMBED_REQUEST, EMBED_RESPONSE,
    BATCH_REQUEST, BATCH_RESPONSE, COUNT_REQUEST, COUNT_RESPONSE,
]  # fmt: skip


def api(*methods: str | Method, messages: list[Message] | None = None) -> ApiPackage:
    chosen = tuple(METHODS[m] if isinstance(m, str) else m for m in methods)
    return ApiPackage(
        package=PKG,
        files=("test/api/v9/text_service.proto",),
        services=(Service("TextService", f"{PKG}.TextService", chosen, comment="Texts."),),
        messages={m.full_name: m for m in (messages or MESSAGES)},
        enums={MODE.full_name: MODE},
    )


COUNT_MODEL_ONLY = Method(
    "CountTextTokens", ref("CountTextTokensRequest"), ref("CountTextTokensResponse"), (("model",),)
)
ALL = ("GenerateText", "EmbedText", "BatchEmbedText", "CountTextTokens")


def test_functions_are_planned_from_the_rpcs_present() -> None:
    full = plan_facade(api(*ALL))
    assert full.functions == (
        "generate_embeddings",
        "generate_embeddings_async",
        "iter_embeddings",
        "iter_embeddings_async",
        "generate_text",
        "generate_text_async",
        "count_text_tokens",
        "count_text_tokens_async",
    )
    assert full.embeddings is not None and full.embeddings.batch is not None
    assert full.embeddings.batch_vectors == ("embeddings", "value")
    assert full.embeddings.single_vector == ("embedding", "value")
    no_batch = plan_facade(api("GenerateText", "EmbedText"))
    assert no_batch.embeddings is not None and no_batch.embeddings.batch is None
    assert no_batch.rpc_function("count_text_tokens") is None
    assert "EmbedText calls" not in no_batch.embeddings.doc
    assert "its own EmbedText call" in no_batch.embeddings.doc
    assert "BatchEmbedText" not in no_batch.embeddings.iter_doc
    assert "each text is its own EmbedText call" in no_batch.embeddings.iter_doc
    assert "one BatchEmbedText call of ``batch_size`` texts" in full.embeddings.iter_doc
    for doc in (full.embeddings.doc, full.embeddings.iter_doc):
        assert "output: " in doc and "``pip install numpy``" in " ".join(doc.split())
    only_count = plan_facade(api("CountTextTokens"))
    assert only_count.functions == ("count_text_tokens", "count_text_tokens_async")
    assert only_count.embeddings is None and only_count.rpc_function("generate_text") is None


def test_any_other_unary_rpc_gets_a_plain_function_and_streaming_ones_none() -> None:
    # no model in the request: a plain RPC, whatever its response
    other = Method("OtherThing", ref("CountTextTokensResponse"), ref("EmbedTextResponse"))
    watch = Method(
        "Watch", ref("EmbedTextRequest"), ref("EmbedTextResponse"), server_streaming=True
    )
    plan = plan_facade(api(other, watch))
    assert plan.functions == ("other_thing", "other_thing_async")
    function = plan.rpc_function("other_thing")
    assert function is not None and function.returns == "EmbedTextResponseDict"
    assert [p.name for p in function.params] == ["token_count"]
    assert plan.streaming == ("TextService.Watch",)
    with pytest.raises(CodegenError, match="no unary RPC"):
        plan_facade(api(watch))


def test_a_renamed_rpc_of_the_same_shape_gets_the_same_function() -> None:
    renamed = Method("EmbedWords", ref("EmbedTextRequest"), ref("EmbedTextResponse"),
                     (("model", "text"),))  # fmt: skip
    plan = plan_facade(api(renamed, "BatchEmbedText"))
    assert plan.embeddings is not None and plan.embeddings.name == "generate_embeddings"
    assert plan.embeddings.single.name == "EmbedWords"
    assert plan.embeddings.batch is not None and plan.embeddings.batch.name == "BatchEmbedText"
    assert plan.embeddings.single.constant == "_EMBED_WORDS"


def test_generate_text_parameters_come_from_signature_then_settable_fields() -> None:
    generate_text = plan_facade(api("GenerateText")).rpc_function("generate_text")
    assert generate_text is not None
    params = {p.name: p for p in generate_text.params}
    assert list(params) == ["model", "prompt", "temperature", "stop_sequences", "mode"]
    assert params["model"].default == "'models/text-bison-001'"
    assert params["prompt"].annotation == "str | _pb.TextPrompt" and params["prompt"].required
    assert "text_field='text'" in params["prompt"].convert
    assert (params["temperature"].annotation, params["temperature"].default) == (
        "float | None",
        "None",
    )
    assert params["stop_sequences"].annotation == "str | Sequence[str] | None"
    assert params["mode"].annotation == "_pb.Mode | str | int | None"
    assert params["mode"].convert == "_f.fields.enum(_pb.Mode, mode, 'mode')"
    assert [p.name for p in generate_text.optional_params] == [
        "temperature",
        "stop_sequences",
        "mode",
    ]
    assert "60 s timeout" in generate_text.doc and "UNAVAILABLE" in generate_text.doc


def test_reserved_names_get_a_trailing_underscore() -> None:
    assert parameter_name("type", ()) == "type_"
    assert parameter_name("from", ()) == "from_"
    assert parameter_name("match", ()) == "match_"  # soft keyword
    assert parameter_name("client", ("client",)) == "client_"
    assert parameter_name("client_", ("client_",)) == "client__"
    assert parameter_name("text", ()) == "text"
    request = msg(
        "GenerateTextRequest",
        f("model", 1, Kind.STRING, behaviors=REQUIRED),
        f("prompt", 2, Kind.MESSAGE, type_name=ref("TextPrompt"), behaviors=REQUIRED),
        f("type", 3, Kind.STRING),
        f("from", 4, Kind.INT32),
        f("client", 5, Kind.STRING),
        f("request_options", 6, Kind.BOOL),
        f("request", 7, Kind.BOOL),
    )
    messages = [m for m in MESSAGES if m.python_name != "GenerateTextRequest"] + [request]
    method = Method("GenerateText", request.full_name, ref("GenerateTextResponse"),
                    signatures=(("model", "prompt", "type", "from", "client"),))  # fmt: skip
    plan = plan_facade(api(method, messages=messages))
    generate_text = plan.rpc_function("generate_text")
    assert generate_text is not None
    names = [(p.name, p.attribute) for p in generate_text.params]
    assert names == [
        ("model", "model"),
        ("prompt", "prompt"),
        ("type_", "type"),
        ("from_", "from_"),
        ("client_", "client"),
        ("request_options_", "request_options"),
        ("request", "request"),
    ]
    assert generate_text.request_var == "request_"
    source = render_plan(plan)["v9/_text_service.py"]
    ast.parse(source)
    assert "request_.type = _f.fields.string(type_, 'type_')" in source


def test_signature_naming_a_missing_field_is_an_error() -> None:
    method = Method("CountTextTokens", ref("CountTextTokensRequest"),
                    ref("CountTextTokensResponse"), (("model", "prompts"),))  # fmt: skip
    with pytest.raises(CodegenError, match="'prompts'"):
        plan_facade(api(method))


def test_message_arguments_accept_the_message_or_a_mapping() -> None:
    options = msg("Options", f("a", 1, Kind.STRING), f("b", 2, Kind.BOOL))
    request = msg(
        "CountTextTokensRequest",
        f("model", 1, Kind.STRING),
        f("prompt", 4, Kind.MESSAGE, type_name=ref("TextPrompt")),
        f("options", 2, Kind.MESSAGE, type_name=ref("Options")),
        f("many", 3, Kind.MESSAGE, type_name=ref("Options"), repeated=True),
    )
    messages = [m for m in MESSAGES if m.python_name != "CountTextTokensRequest"]
    plan = plan_facade(api(COUNT_MODEL_ONLY, messages=[*messages, request, options]))
    count_text_tokens = plan.rpc_function("count_text_tokens")
    assert count_text_tokens is not None
    params = {p.name: p for p in count_text_tokens.params}
    assert params["options"].annotation == "_pb.Options | Mapping[str, Any] | None"
    assert params["many"].annotation == "Sequence[_pb.Options | Mapping[str, Any]] | None"
    assert params["many"].convert.startswith("_f.fields.repeated(many, 'many', lambda v, a:")


def test_map_arguments_are_refused_clearly() -> None:
    request = msg(
        "CountTextTokensRequest",
        f("model", 1, Kind.STRING),
        f("prompt", 3, Kind.MESSAGE, type_name=ref("TextPrompt")),
        f("labels", 2, Kind.MAP, map_key=Kind.STRING, map_value=f("value", 2, Kind.STRING)),
    )
    messages = [m for m in MESSAGES if m.python_name != "CountTextTokensRequest"] + [request]
    with pytest.raises(CodegenError, match="map fields"):
        plan_facade(api(COUNT_MODEL_ONLY, messages=messages))


def test_typed_dicts_follow_the_response_messages() -> None:
    plan = plan_facade(api(*ALL))
    dicts = {t.name: t for t in plan.typed_dicts}
    assert list(dicts) == [
        "CandidateDict",
        "GenerateTextResponseDict",
        "Completion",
        "CountTextTokensResponseDict",
    ]  # dependencies first
    keys = {k.name: k.annotation for k in dicts["GenerateTextResponseDict"].keys}
    assert keys == {"candidates": "list[CandidateDict]", "mode": "_pb.Mode"}
    assert dicts["Completion"].base == "GenerateTextResponseDict"
    assert [m.alias for m in plan.type_imports] == ["_pb"]
    only_embed = plan_facade(api("EmbedText"))
    assert only_embed.typed_dicts == () and only_embed.type_imports == ()


def test_nullable_and_keyword_keys() -> None:
    response = msg(
        "CountTextTokensResponse",
        f("token_count", 1, Kind.INT64),
        f("from", 2, Kind.STRING, proto3_optional=True),
        f("nested", 3, Kind.MESSAGE, type_name=ref("Embedding")),
        f("labels", 4, Kind.MAP, map_key=Kind.INT32, map_value=f("value", 2, Kind.DOUBLE)),
    )
    messages = [m for m in MESSAGES if m.python_name != "CountTextTokensResponse"] + [response]
    plan = plan_facade(api("CountTextTokens", messages=messages))
    (embedding, counted) = plan.typed_dicts
    assert {k.name: k.annotation for k in counted.keys} == {
        "token_count": "int",
        "from": "str | None",
        "nested": "EmbeddingDict | None",
        "labels": "dict[int, float]",
    }
    assert not counted.class_syntax and embedding.class_syntax
    types_source = render_plan(plan)["v9/types.py"]
    assert "CountTextTokensResponseDict = TypedDict(" in types_source
    ast.parse(types_source)


def test_typed_dict_name_clash_is_an_error() -> None:
    other = Message(full_name="test.other.Candidate", python_name="Candidate", package=PKG)
    response = msg(
        "GenerateTextResponse",
        f("candidates", 1, Kind.MESSAGE, repeated=True, type_name=ref("Candidate")),
        f("other", 2, Kind.MESSAGE, type_name="test.other.Candidate"),
    )
    messages = [m for m in MESSAGES if m.python_name != "GenerateTextResponse"]
    with pytest.raises(CodegenError, match="CandidateDict"):
        plan_facade(api("GenerateText", messages=[*messages, response, other]))


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("rpcs", [ALL, ("GenerateText", "EmbedText"), ("CountTextTokens",)])
def test_rendered_facade_is_valid_and_its_parameters_shadow_nothing(rpcs: tuple[str]) -> None:
    files = render_plan(plan_facade(api(*rpcs)))
    assert sorted(files) == ["v9/__init__.py", "v9/_text_service.py", "v9/types.py"]
    ast.parse(files["v9/__init__.py"])
    tree = ast.parse(files["v9/_text_service.py"])
    module_names = _module_names(tree)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = {a.arg for a in [*node.args.args, *node.args.kwonlyargs]}
            assert not params & module_names, (node.name, params & module_names)
            assert not params & set(dir(builtins)) - {"_"}, node.name
            assert not any(keyword.iskeyword(p) for p in params)
            if not node.name.startswith("_"):  # public: no locals that a parameter could hide
                bound = [n for n in ast.walk(node) if isinstance(n, ast.Assign | ast.AnnAssign)]
                assert bound == [], node.name
    ast.parse(files["v9/types.py"])


def test_environment_is_strict_and_trims_blocks() -> None:
    env = environment()
    assert isinstance(env.undefined, type) and issubclass(env.undefined, jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ plan.nmae }}").render(plan={})
    assert env.from_string("{% if x %}\n  a\n{% endif %}\n").render(x=True) == "  a\n"
    assert set(env.filters) >= {"py", "docstring", "comment"}


def test_one_environment_compiles_each_template_once() -> None:
    env = environment()
    assert environment() is env  # each render of a generation reuses its compiled templates
    template = env.get_template("facade_service.py.j2")
    assert environment().get_template("facade_service.py.j2") is template


def test_py_literal() -> None:
    assert py_literal(("UNAVAILABLE",)) == "('UNAVAILABLE',)"
    assert py_literal((1.0, "a")) == "(1.0, 'a')"
    assert py_literal(None) == "None"
    with pytest.raises(TypeError):
        py_literal([1])
