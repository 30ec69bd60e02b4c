"""What the facade of one API version contains, decided from the API model.

Which friendly functions a version gets, and for which RPCs, comes from the table of RPC
shapes (``codegen.shapes.FRIENDLY_FUNCTIONS``): each row is planned when a service of the
version has an RPC of its shape, whatever the RPC is called. Parameters, their types and
conversions, result TypedDicts and docstrings all come from the model. The plan is frozen data
holding ready-made names and Python snippets, so the templates stay declarations and thin glue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import betterproto2

from codegen import docstrings
from codegen.errors import CodegenError
from codegen.model import ApiPackage, Field, Kind, Message, Method, RetryPolicy, Service
from codegen.names import is_identifier, parameter_name
from codegen.shapes import (
    FRIENDLY_FUNCTIONS,
    MODEL_FIELD,
    Match,
    Payload,
    Shape,
    batch_vectors,
    match_service,
    text_wrapper,
    vector_path,
)

BATCH_LIMIT = 100
"""Texts per BatchEmbedText call (the API rejects more; the protos say so only in a comment)."""

COMPLETION_CANDIDATES, COMPLETION_OUTPUT = "candidates", "output"
"""``Completion["result"]`` is ``candidates[0].output`` (None without candidates)."""

OWN_PARAMETERS = ("client", "request_options")
"""Parameters every facade function has after the request's own."""

FUNCTION_DOC_WIDTH = docstrings.LINE_LENGTH - 4
"""Function docstrings sit 4 spaces in."""

CLIENT_DOC = "The ``TextServiceClient`` to call through; None uses the default client."

OUTPUT_DOC = (
    '``"list"`` (default): Python floats. ``"numpy"``: float32 ``numpy`` arrays, decoded '
    "straight from the response bytes with no Python float per value (needs numpy: "
    "``pip install numpy``)."
)
"""``output``'s description (``generate_embeddings``, ``iter_embeddings``)."""

TEMPLATE_NAMES = frozenset(
    {
        "_f", "_pb", "Any", "AsyncIterator", "Callable", "HasName", "Iterator", "Literal",
        "Mapping", "Sequence", "TYPE_CHECKING", "cast", "numpy", "overload",
        "TextServiceClient", "annotations",
    }
)  # fmt: skip
"""Module-level names of the generated modules: a request field's parameter must not take one
(it gets a trailing ``_`` instead). The public functions bind no locals, so none are listed."""

_PY_SCALARS: dict[Kind, str] = {
    Kind.DOUBLE: "float",
    Kind.FLOAT: "float",
    Kind.BOOL: "bool",
    Kind.STRING: "str",
    Kind.BYTES: "bytes",
}
_INT_CHECKS: dict[Kind, str] = {
    Kind.INT32: "int32",
    Kind.SINT32: "int32",
    Kind.SFIXED32: "int32",
    Kind.INT64: "int64",
    Kind.SINT64: "int64",
    Kind.SFIXED64: "int64",
    Kind.UINT32: "uint32",
    Kind.FIXED32: "uint32",
    Kind.UINT64: "uint64",
    Kind.FIXED64: "uint64",
}
_SCALAR_CHECKS: dict[Kind, str] = {
    Kind.DOUBLE: "floating",
    Kind.FLOAT: "floating",
    Kind.BOOL: "boolean",
    Kind.STRING: "string",
    Kind.BYTES: "binary",
    **_INT_CHECKS,
}


@dataclass(frozen=True)
class MethodSpecPlan:
    """A ``_f.MethodSpec`` constant."""

    constant: str
    service: str
    name: str
    request: str
    response: str
    timeout: float | None
    retry: RetryPolicy | None


@dataclass(frozen=True)
class Param:
    """One facade parameter standing for one request field."""

    name: str
    attribute: str
    """The request's attribute (betterproto2 name)."""
    annotation: str
    default: str | None
    """Python source of the default; ``None`` for a required parameter."""
    convert: str
    """Python expression turning the argument into the field's value."""
    doc: str

    @property
    def required(self) -> bool:
        """No default: the caller must pass it."""
        return self.default is None

    @property
    def optional(self) -> bool:
        """Defaults to None, meaning "leave the field unset"."""
        return self.default == "None"


@dataclass(frozen=True)
class RpcFunction:
    """A facade function around one RPC (``generate_text``, ``count_text_tokens``)."""

    name: str
    method: MethodSpecPlan
    params: tuple[Param, ...]
    keyword_only: bool
    doc: str
    """The full docstring (unescaped)."""
    returns: str
    """TypedDict name of the result."""
    completion: bool
    """Adds ``result`` (first candidate's output) to the response dict."""

    @property
    def request_var(self) -> str:
        """The request builder's local name: ``request``, unless a parameter has that name."""
        name = "request"
        while name in {p.name for p in self.params}:
            name += "_"
        return name

    @property
    def constructor_params(self) -> tuple[Param, ...]:
        """Always set: passed to the request's constructor."""
        return tuple(p for p in self.params if not p.optional)

    @property
    def optional_params(self) -> tuple[Param, ...]:
        """Set on the request only when not ``None``."""
        return tuple(p for p in self.params if p.optional)


@dataclass(frozen=True)
class EmbeddingsFunction:
    """``generate_embeddings``: one text by EmbedText, lists by BatchEmbedText when it exists."""

    name: str
    """The public function, ``generate_embeddings``."""
    iter_name: str
    """Its batch-by-batch iterator, ``iter_embeddings``."""
    single: MethodSpecPlan
    single_text: str
    """EmbedText request attribute holding the text."""
    single_vector: tuple[str, ...]
    """Attributes from the EmbedText response to its floats: ``("embedding", "value")``."""
    batch: MethodSpecPlan | None
    batch_texts: str | None
    batch_vectors: tuple[str, str] | None
    """(repeated message attribute, its floats attribute): ``("embeddings", "value")``."""
    max_texts: int
    doc: str
    """The full docstring (unescaped)."""
    iter_doc: str
    """``iter_embeddings``'s full docstring (unescaped)."""


@dataclass(frozen=True)
class TypedKey:
    """One key of a TypedDict."""

    name: str
    annotation: str
    doc: str


@dataclass(frozen=True)
class TypedDictPlan:
    """A TypedDict declaration."""

    name: str
    doc: str
    keys: tuple[TypedKey, ...]
    base: str | None = None

    @property
    def class_syntax(self) -> bool:
        """Every key is an identifier (else the functional ``TypedDict(...)`` form is used)."""
        return all(is_identifier(k.name) for k in self.keys)


@dataclass(frozen=True)
class ModuleImport:
    """``from {parent} import {name} as {alias}`` of a betterproto2 package module."""

    parent: str
    name: str
    alias: str


@dataclass(frozen=True)
class FacadePlan:
    """Everything the templates render for one API version."""

    version: str
    package: str
    sources: tuple[str, ...]
    proto_import: ModuleImport
    type_imports: tuple[ModuleImport, ...]
    """betterproto2 modules ``types.py`` needs (for enums)."""
    service_doc: str
    methods: tuple[MethodSpecPlan, ...]
    rpc_functions: tuple[RpcFunction, ...]
    """Functions around one RPC each, in the order of the table of shapes."""
    embeddings: EmbeddingsFunction | None
    typed_dicts: tuple[TypedDictPlan, ...]
    float_type: str = "float"

    @property
    def module(self) -> str:
        """The facade's import path, ``textservice.v1beta``."""
        return f"textservice.{self.version}"

    def rpc_function(self, name: str) -> RpcFunction | None:
        """The planned function called ``name``, if any."""
        return next((f for f in self.rpc_functions if f.name == name), None)

    @property
    def functions(self) -> tuple[str, ...]:
        """Public function names, sync and async."""
        names = []
        if self.embeddings:
            names += [self.embeddings.name, self.embeddings.iter_name]
        names += [f.name for f in self.rpc_functions]
        return tuple(n for base in names for n in (base, f"{base}_async"))

    @property
    def result_types(self) -> tuple[str, ...]:
        """TypedDicts the functions return (re-exported by the facade module)."""
        names = []
        if self.embeddings:
            names += ["EmbeddingDict", "BatchEmbeddingDict", "ArrayEmbeddingDict"]
        names += [f.returns for f in self.rpc_functions]
        return tuple(names)


@dataclass
class _TypedDicts:
    """Collects the TypedDicts of response messages, dependencies first."""

    api: ApiPackage
    aliases: dict[str, str]
    plans: dict[str, TypedDictPlan] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """TypedDict name -> the message full name it was made for (to catch name clashes)."""
    visiting: set[str] = field(default_factory=set)
    used_aliases: set[str] = field(default_factory=set)
    """Aliases of the betterproto2 modules the annotations use (for enums)."""

    def name_of(self, message: Message) -> str:
        name = f"{message.python_name}Dict"
        owner = self.owners.setdefault(name, message.full_name)
        if owner != message.full_name:
            raise CodegenError(
                f"two messages would share the TypedDict name {name}: {owner}, {message.full_name}"
            )
        return name

    def add(self, full_name: str) -> str:
        message = self.api.message(full_name)
        name = self.name_of(message)
        if full_name in self.visiting or name in self.plans:
            return name
        self.visiting.add(full_name)
        keys = tuple(
            TypedKey(
                name=dict_key(f),
                annotation=self.annotation(f, message),
                doc=f.comment,
            )
            for f in message.fields
        )
        self.plans[name] = TypedDictPlan(name=name, doc=message.comment, keys=keys)
        return name

    def element(self, f: Field, owner: Message) -> str:
        if f.kind is Kind.MESSAGE:
            assert f.type_name is not None
            if f.type_name.startswith("google.protobuf."):
                raise CodegenError(
                    f"{owner.full_name}.{f.name}: well-known type {f.type_name} in a response "
                    "is not supported by the facade yet"
                )
            return self.add(f.type_name)
        if f.kind is Kind.ENUM:
            assert f.type_name is not None
            enum = self.api.enums[f.type_name]
            alias = self.aliases[enum.package]
            self.used_aliases.add(alias)
            return f"{alias}.{enum.python_name}"
        if f.kind.is_integer:
            return "int"
        return _PY_SCALARS[f.kind]

    def annotation(self, f: Field, owner: Message) -> str:
        if f.kind is Kind.MAP:
            assert f.map_key is not None and f.map_value is not None
            key = "int" if f.map_key.is_integer else _PY_SCALARS[f.map_key]
            return f"dict[{key}, {self.element(f.map_value, owner)}]"
        element = self.element(f, owner)
        if f.repeated:
            return f"list[{element}]"
        return f"{element} | None" if f.nullable else element


def dict_key(f: Field) -> str:
    """The key ``_f.plain`` gives a field: betterproto2's ``to_dict`` snake-case key."""
    return betterproto2.Casing.SNAKE(f.python_name).rstrip("_")


def _module_import(package: str) -> ModuleImport:
    parent, _, name = package.rpartition(".")
    return ModuleImport(
        parent=f"textservice._proto.{parent}" if parent else "textservice._proto",
        name=name,
        alias="_pb",
    )


def _first_line(text: str) -> str:
    return text.split("\n\n", 1)[0].replace("\n", " ").strip()


def _method_spec(service: Service, method: Method, api: ApiPackage) -> MethodSpecPlan:
    if method.client_streaming or method.server_streaming:
        raise CodegenError(f"{service.full_name}.{method.name}: streaming RPCs are not supported")
    constant = (
        "_"
        + "".join(("_" + c if c.isupper() and i else c) for i, c in enumerate(method.name)).upper()
    )
    return MethodSpecPlan(
        constant=constant,
        service=service.full_name,
        name=method.name,
        request=api.message(method.input_type).python_name,
        response=api.message(method.output_type).python_name,
        timeout=method.policy.timeout,
        retry=method.policy.retry,
    )


def _options_doc(specs: Iterable[MethodSpecPlan]) -> str:
    """``request_options``'s description, with the defaults from the service config."""
    defaults = []
    for spec in specs:
        if spec.timeout is None and spec.retry is None:
            policy = "no timeout and no retries (the service config names none)"
        else:
            timeout = f"a {spec.timeout:g} s timeout" if spec.timeout is not None else "no timeout"
            if spec.retry is None:
                retry = "no retries"
            else:
                r = spec.retry
                retry = (
                    f"retries on {', '.join(r.retry_codes)} up to {r.max_attempts} attempts, "
                    f"backing off {r.initial_backoff:g} s x {r.multiplier:g} "
                    f"up to {r.max_backoff:g} s"
                )
            policy = f"{timeout}; {retry}"
        defaults.append(f"{spec.name}: {policy}.")
    return (
        'Per-call overrides, ``{"timeout": seconds, "retry": Retry | None}``. '
        "Defaults from the service config: " + " ".join(defaults)
    )


def _function_doc(
    summary: str,
    args: Iterable[tuple[str, str]],
    returns: str,
    specs: Iterable[MethodSpecPlan],
    *,
    extra: Iterable[tuple[str, str]] = (),
    returns_title: str = "Returns",
) -> str:
    """Summary, ``Args`` (the request's, ``client``, ``request_options``, then ``extra``) and
    ``Returns`` (or ``returns_title``)."""
    entries = [*args, ("client", CLIENT_DOC), ("request_options", _options_doc(specs)), *extra]
    return docstrings.join(
        summary,
        docstrings.section("Args", entries, FUNCTION_DOC_WIDTH),
        docstrings.block(returns_title, returns, FUNCTION_DOC_WIDTH),
    )


def _param_type(f: Field, api: ApiPackage, where: str) -> tuple[str, str]:
    """(annotation, conversion with ``{v}``/``{a}`` placeholders) of one value of field ``f``."""
    if f.kind is Kind.MAP:
        raise CodegenError(f"{where}: map fields cannot be facade arguments yet")
    if f.kind is Kind.ENUM:
        assert f.type_name is not None
        enum = api.enums[f.type_name]
        _same_package(enum.package, api, where)
        cls = f"_pb.{enum.python_name}"
        return f"{cls} | str", f"_f.fields.enum({cls}, {{v}}, {{a}})"
    if f.kind is Kind.MESSAGE:
        assert f.type_name is not None
        message = api.message(f.type_name)
        _same_package(message.package, api, where)
        wrapped = text_wrapper(message)
        if wrapped is not None:
            return (
                f"str | _pb.{message.python_name}",
                f"_f.fields.message(_pb.{message.python_name}, {{v}}, {{a}}, "
                f"text_field={wrapped.python_name!r})",
            )
        return (
            f"_pb.{message.python_name} | Mapping[str, Any]",
            f"_f.fields.message(_pb.{message.python_name}, {{v}}, {{a}})",
        )
    annotation = "int" if f.kind.is_integer else _PY_SCALARS[f.kind]
    return annotation, f"_f.fields.{_SCALAR_CHECKS[f.kind]}({{v}}, {{a}})"


def _same_package(package: str, api: ApiPackage, where: str) -> None:
    if package != api.package:
        raise CodegenError(f"{where}: arguments of types from other packages are not supported")


def _params(
    method: Method,
    api: ApiPackage,
    *,
    default_model: str | None,
    keyword_only: bool,
) -> tuple[Param, ...]:
    request = api.message(method.input_type)
    signature = method.signatures[0] if method.signatures else ()
    for name in signature:
        if request.field(name) is None:
            raise CodegenError(
                f"{method.name}: method_signature names {name!r}, "
                f"which {request.full_name} does not have"
            )
    ordered = [request.field(n) for n in signature]
    ordered += [f for f in request.fields if f.name not in signature and not f.output_only]
    params: list[Param] = []
    taken = set(OWN_PARAMETERS) | TEMPLATE_NAMES
    for f in ordered:
        assert f is not None
        where = f"{request.full_name}.{f.name}"
        name = parameter_name(f.name, taken)
        taken.add(name)
        if f.name == MODEL_FIELD and f.kind is Kind.STRING and not f.repeated:
            annotation, convert = "str | HasName", "_f.check_model({v})"
            default = repr(default_model) if default_model else None
        elif f.repeated and f.kind is Kind.STRING:
            annotation, convert = "str | Sequence[str]", "_f.fields.strings({v}, {a})"
            default = "None"
        elif f.repeated:
            element, item = _param_type(f, api, where)
            annotation = f"Sequence[{element}]"
            convert = "_f.fields.repeated({v}, {a}, lambda v, a: " + item.format(v="v", a="a") + ")"
            default = "None"
        else:
            annotation, convert = _param_type(f, api, where)
            default = None if f.required else "None"
        if default == "None":
            annotation += " | None"
        params.append(
            Param(
                name=name,
                attribute=f.python_name,
                annotation=annotation,
                default=default,
                convert=convert.format(v=name, a=repr(name)),
                doc=f.comment,
            )
        )
    if not keyword_only:  # positional: required ones first, keeping their order
        params.sort(key=lambda p: not p.required)
    return tuple(params)


def _rpc_function(
    name: str,
    service: Service,
    method: Method,
    api: ApiPackage,
    types: _TypedDicts,
    *,
    keyword_only: bool,
    default_model: str | None = None,
    completion: bool = False,
) -> RpcFunction:
    response = api.message(method.output_type)
    returns = types.add(response.full_name)
    if completion:
        candidates = response.field(COMPLETION_CANDIDATES)
        if (
            candidates is None
            or not candidates.repeated
            or candidates.kind is not Kind.MESSAGE
            or candidates.type_name is None
            or (output := api.message(candidates.type_name).field(COMPLETION_OUTPUT)) is None
            or output.kind is not Kind.STRING
            or output.repeated
        ):
            raise CodegenError(
                f"{response.full_name}: generate_text needs repeated `{COMPLETION_CANDIDATES}` "
                f"messages with a string `{COMPLETION_OUTPUT}`"
            )
        types.plans["Completion"] = TypedDictPlan(
            name="Completion",
            doc=(
                f"{response.comment}\n\n"
                f"``result`` is the first candidate's ``{COMPLETION_OUTPUT}``, "
                "or None when there is no candidate."
            ).strip(),
            keys=(TypedKey("result", "str | None", "The first candidate's text, if any."),),
            base=returns,
        )
        returns = "Completion"
    spec = _method_spec(service, method, api)
    params = _params(method, api, default_model=default_model, keyword_only=keyword_only)
    returns_doc = response.comment
    if completion:
        returns_doc = docstrings.join(
            returns_doc,
            f"As a dict; ``result`` is the first candidate's ``{COMPLETION_OUTPUT}`` (None without "
            "candidates). Enum values are enum members, unset messages are None.",
        )
    else:
        returns_doc = docstrings.join(returns_doc, "As a dict.")
    return RpcFunction(
        name=name,
        method=spec,
        params=params,
        keyword_only=keyword_only,
        doc=_function_doc(method.comment, [(p.name, p.doc) for p in params], returns_doc, [spec]),
        returns=returns,
        completion=completion,
    )


def _embeddings(match: Match, api: ApiPackage) -> EmbeddingsFunction:
    """The embeddings functions of a ``Shape.EMBED`` row for text payloads."""
    service, single, text = match.service, match.rpc.method, match.rpc.payload_field
    function = match.function
    if match.rpc.payload is not Payload.TEXT or text is None:
        raise CodegenError(
            f"{single.name}: {function.name} embeds strings, not {match.rpc.payload}"
        )
    path = vector_path(api.message(single.output_type), api)
    if path is None:  # classified as EMBED, so it has one
        raise CodegenError(f"{single.output_type}: no repeated float field to read the embedding")
    vector = tuple(f.python_name for f in path)
    batch = match.batch.method if match.batch is not None else None
    batch_spec = batch_texts = batch_vectors_ = None
    if match.batch is not None and batch is not None:
        texts = match.batch.payload_field
        pair = batch_vectors(api.message(batch.output_type), api)
        if match.batch.payload is not Payload.TEXTS or texts is None or pair is None:
            raise CodegenError(f"{batch.name}: {function.name} sends lists as repeated texts")
        batch_spec = _method_spec(service, batch, api)
        batch_texts = texts.python_name
        batch_vectors_ = (pair[0].python_name, pair[1].python_name)
    model = api.message(single.input_type).field(MODEL_FIELD)
    how = (
        f"sent as {batch.name} calls of at most {BATCH_LIMIT} texts"
        if batch is not None
        else f"each sent as its own {single.name} call (this API version has no batch RPC)"
    )
    summary = single.comment
    if batch is not None and batch.comment:
        summary = docstrings.join(summary, batch.comment)
    single_spec = _method_spec(service, single, api)
    text_doc = docstrings.join(
        text.comment,
        f"One string, or a sequence of strings ({how}); results come back in input order.",
    )
    returns_doc = docstrings.join(
        '``{"embedding": [float, ...]}`` for one string, ``{"embedding": [[float, ...], ...]}`` '
        "for a sequence. The values are the float32 values the API sent, as Python floats.",
        'With ``output="numpy"``: ``{"embedding": array}``, a float32 array of shape ``(dim,)`` '
        "for one string and ``(n, dim)`` for a sequence of n strings (``(0, 0)`` for an empty "
        "one: no call is made), holding the same float32 values. Embeddings of different "
        'lengths in one call raise ``Internal`` (``output="list"`` returns them as they are).',
    )
    specs = [single_spec, *([batch_spec] if batch_spec else [])]
    output_arg = [("output", OUTPUT_DOC)]
    return EmbeddingsFunction(
        name=function.name,
        iter_name=function.iterator or f"iter_{function.name}",
        single=single_spec,
        single_text=text.python_name,
        single_vector=vector,
        batch=batch_spec,
        batch_texts=batch_texts,
        batch_vectors=batch_vectors_,
        max_texts=BATCH_LIMIT,
        doc=_function_doc(
            summary,
            [("model", model.comment if model else ""), ("text", text_doc)],
            returns_doc,
            specs,
            extra=output_arg,
        ),
        iter_doc=_iter_doc(single, batch, model, specs, output_arg),
    )


def _iter_doc(
    single: Method,
    batch: Method | None,
    model: Field | None,
    specs: list[MethodSpecPlan],
    extra: list[tuple[str, str]],
) -> str:
    """``iter_embeddings``'s docstring."""
    if batch is not None:
        how = (
            f"Each batch is one {batch.name} call of ``batch_size`` texts (1-{BATCH_LIMIT}; the "
            "last batch may hold fewer)."
        )
    else:
        how = (
            f"This API version has no batch RPC: each text is its own {single.name} call, and "
            f"``batch_size`` texts (1-{BATCH_LIMIT}; the last batch may hold fewer) are yielded "
            "together."
        )
    summary = docstrings.join(
        "Embed ``texts`` batch by batch: yields each batch's embeddings, in input order.",
        how + " Up to the client's ``max_concurrency`` calls are in flight while you consume "
        "batches, and at most as many finished batches wait for you, so memory stays bounded "
        "however long ``texts`` is. Concatenated, the batches equal "
        '``generate_embeddings(model, texts, output=...)["embedding"]``.',
        "A timeout (``request_options={\"timeout\": s}``, the client's, or the method's "
        "default) bounds each batch's call with its retries, not the whole iteration.",
        "Raises ``TextServiceError`` when a batch fails after its retries: the batches before "
        "it have been yielded, ``error.partial.delivered`` says how many texts that was, and "
        "``error.partial.embeddings`` holds the later batches that finished but were held back "
        "for order (yielded vectors are not kept). Stopping "
        "early (``break``, closing the iterator, ``KeyboardInterrupt``) cancels the calls in "
        "flight. Arguments are checked at once (``TypeError``/``ValueError``), before any "
        "call.",
    )
    args = [
        ("model", model.comment if model else ""),
        ("texts", "A sequence of strings (not one ``str``)."),
    ]
    tail = [
        ("batch_size", f"Texts per yielded batch, 1-{BATCH_LIMIT}."),
        (
            "progress",
            "Called as ``progress(done, total)`` (texts delivered so far, of all texts) before "
            "each batch is yielded, in the thread that iterates.",
        ),
        *extra,
    ]
    yields = (
        "Each batch's embeddings: a list of vectors (lists of Python floats holding the "
        'float32 values the API sent), or with ``output="numpy"`` a float32 array of shape '
        "``(batch, dim)``."
    )
    return _function_doc(summary, args, yields, specs, extra=tail, returns_title="Yields")


def _package_aliases(api: ApiPackage, packages: Iterable[str]) -> dict[str, str]:
    aliases = {api.package: "_pb"}
    for package in sorted(set(packages) - {api.package}):
        aliases[package] = "_pb_" + package.replace(".", "_")
    return aliases


def package_matches(api: ApiPackage) -> list[Match]:
    """The rows of the table of shapes the services of ``api`` implement, in table order.

    ``CodegenError`` when two services implement the same row (one function cannot call both).
    """
    found: dict[str, Match] = {}
    for service in api.services:
        for match in match_service(service, api):
            name = match.function.name
            if name in found:
                raise CodegenError(
                    f"{api.package}: {found[name].service.name}.{found[name].rpc.method.name} "
                    f"and {service.name}.{match.rpc.method.name} both have the shape of {name}"
                )
            found[name] = match
    return sorted(found.values(), key=lambda m: _ROW_ORDER[m.function.name])


_ROW_ORDER = {row.name: index for index, row in enumerate(FRIENDLY_FUNCTIONS)}


def _files_used(api: ApiPackage, matches: Iterable[Match]) -> set[str]:
    """The package's proto files declaring the wrapped services and the types they reach."""
    files = {m.service.file for m in matches}
    todo = [
        t
        for m in matches
        for c in (m.rpc, m.batch)
        if c is not None
        for t in (c.method.input_type, c.method.output_type)
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in api.messages:
            continue
        seen.add(name)
        message = api.messages[name]
        files.add(message.file)
        for f in message.fields:
            inner = f.map_value if f.kind is Kind.MAP else f
            if inner is None or inner.type_name is None:
                continue
            if inner.kind is Kind.ENUM and inner.type_name in api.enums:
                files.add(api.enums[inner.type_name].file)
            else:
                todo.append(inner.type_name)
    return files & set(api.files)


def plan_facade(api: ApiPackage) -> FacadePlan:
    """The facade of one API version; ``CodegenError`` if no RPC has a shape it wraps."""
    if not api.version.isidentifier():
        raise CodegenError(f"{api.package}: {api.version!r} cannot be a Python module name")
    matches = package_matches(api)
    if not matches:
        raise CodegenError(
            f"{api.package} has none of the RPC shapes the facade wraps "
            "(codegen/shapes.py, FRIENDLY_FUNCTIONS)"
        )
    aliases = _package_aliases(api, (e.package for e in api.enums.values()))
    types = _TypedDicts(api=api, aliases=aliases)
    embeddings: EmbeddingsFunction | None = None
    rpc_functions: list[RpcFunction] = []
    for match in matches:
        row = match.function
        if row.shape is Shape.EMBED:
            if embeddings is not None:
                raise CodegenError(f"{api.package}: the facade renders one embeddings function")
            embeddings = _embeddings(match, api)
            continue
        rpc_functions.append(
            _rpc_function(
                row.name,
                match.service,
                match.rpc.method,
                api,
                types,
                keyword_only=row.keyword_only,
                default_model=row.default_model,
                completion=row.first_candidate_result,
            )
        )
    specs: dict[str, MethodSpecPlan] = {}
    for spec in (
        embeddings.single if embeddings else None,
        embeddings.batch if embeddings else None,
        *(f.method for f in rpc_functions),
    ):
        if spec is not None:
            specs[spec.name] = spec
    type_imports = tuple(
        ModuleImport(parent=m.parent, name=m.name, alias=alias)
        for package, alias in sorted(aliases.items())
        if alias in types.used_aliases
        for m in (_module_import(package),)
    )
    services = list(dict.fromkeys(m.service for m in matches))
    sources = _files_used(api, matches)
    if api.service_config:
        sources.add(api.service_config)
    return FacadePlan(
        version=api.version,
        package=api.package,
        sources=tuple(sorted(sources)),
        proto_import=_module_import(api.package),
        type_imports=type_imports,
        service_doc=docstrings.join(*(s.comment for s in services)),
        methods=tuple(specs[name] for name in sorted(specs)),
        rpc_functions=tuple(rpc_functions),
        embeddings=embeddings,
        typed_dicts=tuple(types.plans.values()),
    )


__all__ = ["FacadePlan", "package_matches", "plan_facade"]
