"""What the facade of one API version contains, decided from the API model.

A version's facade serves all its services: one module per service (``_text_service``,
``_generative_service``...) behind a package index that imports each on first use, and one
``types`` module of result TypedDicts. Which friendly functions a service gets, and for which
RPCs, comes from the table of RPC shapes (``codegen.shapes.FRIENDLY_FUNCTIONS``): each row is
planned when a service of the version has an RPC of its shape, whatever the RPC is called.
Every other unary RPC gets a plain function named after it (a paged list RPC: an iterator over
every page); streaming RPCs get none, and the docstrings say so. Parameters, their types and
conversions, result TypedDicts, deprecation warnings and docstrings all come from the model.
The plan is frozen data holding ready-made names and Python snippets, so the templates stay
declarations and thin glue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import betterproto2

from codegen import docstrings
from codegen.errors import CodegenError
from codegen.model import (
    ApiPackage,
    Field,
    HttpRule,
    Kind,
    Message,
    Method,
    RetryPolicy,
    Service,
)
from codegen.names import is_identifier, parameter_name, snake_name
from codegen.paths import profiles
from codegen.roles import OUTPUT_DIMENSIONALITY, TASK_TYPE, TITLE, resolve
from codegen.shapes import (
    FRIENDLY_FUNCTIONS,
    MODEL_FIELD,
    NEXT_PAGE_TOKEN,
    PAGE_TOKEN,
    Classified,
    Match,
    Payload,
    Shape,
    batch_vectors,
    classify_service,
    content_parts,
    match_service,
    page_items,
    pick,
    text_wrapper,
    vector_path,
)

BATCH_LIMIT = profiles().MAX_BATCH_ITEMS
"""Texts per BatchEmbedText/BatchEmbedContents call (the API rejects more; the protos say so
only in a comment): the package's model profiles hold the number."""

COMPLETION_CANDIDATES, COMPLETION_OUTPUT = "candidates", "output"
"""``Completion["result"]`` is ``candidates[0].output`` (None without candidates)."""

OWN_PARAMETERS = ("client", "request_options")
"""Parameters every facade function has after the request's own."""

CONTENT_OWN_PARAMETERS = ("output", "normalize")
"""Keyword-only parameters of ``embed_content`` after ``OWN_PARAMETERS``."""

FUNCTION_DOC_WIDTH = docstrings.LINE_LENGTH - 4
"""Function docstrings sit 4 spaces in."""

CLIENT_DOC = (
    "The ``textservice.Client`` to call through (``TextServiceClient``, its former name, is "
    "the same class); None uses the default client."
)

OUTPUT_DOC = (
    '``"list"`` (default): Python floats. ``"numpy"``: float32 ``numpy`` arrays, decoded '
    "straight from the response bytes with no Python float per value (needs numpy: "
    "``pip install numpy``)."
)
"""``output``'s description (the embedding functions)."""

NORMALIZE_DOC = (
    "Scale every vector to unit length (Euclidean norm 1), as Google asks for embeddings "
    "shortened with ``output_dimensionality``; a vector of zeros stays zeros. Lists are scaled "
    "in double precision, arrays in float32."
)

TEMPLATE_NAMES = frozenset(
    {
        "_f", "_pb", "Any", "AsyncIterator", "Callable", "HasName", "Iterator", "Literal",
        "Iterable", "Mapping", "Sequence", "TYPE_CHECKING", "cast", "numpy", "overload",
        "Client", "annotations", "datetime",
    }
)  # fmt: skip
"""Module-level names of the generated modules: a request field's parameter must not take one
(it gets a trailing ``_`` instead). The public functions bind no locals, so none are listed."""

WELL_KNOWN_RESULTS: dict[str, str] = {
    "google.protobuf.Timestamp": "datetime.datetime",
    "google.protobuf.Duration": "datetime.timedelta",
    "google.protobuf.Struct": "dict[str, Any]",
    "google.protobuf.Value": "Any",
    "google.protobuf.ListValue": "list[Any]",
    "google.protobuf.DoubleValue": "float",
    "google.protobuf.FloatValue": "float",
    "google.protobuf.Int64Value": "int",
    "google.protobuf.UInt64Value": "int",
    "google.protobuf.Int32Value": "int",
    "google.protobuf.UInt32Value": "int",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.StringValue": "str",
    "google.protobuf.BytesValue": "bytes",
}
"""Well-known types as result values (``textservice._encoding.dicts`` gives these); the other
well-known messages (``Any``, ``Empty``, ``FieldMask``) are dicts of their fields."""

WELL_KNOWN_ARGUMENTS: dict[str, tuple[str, str]] = {
    "google.protobuf.Value": ("_f.JsonValue", "_f.fields.json_value({v}, {a})"),
    "google.protobuf.Struct": ("Mapping[str, _f.JsonValue]", "_f.fields.json_object({v}, {a})"),
    "google.protobuf.ListValue": ("Sequence[_f.JsonValue]", "_f.fields.json_list({v}, {a})"),
    "google.protobuf.Timestamp": ("datetime.datetime", "_f.fields.timestamp({v}, {a})"),
    "google.protobuf.Duration": ("datetime.timedelta", "_f.fields.duration({v}, {a})"),
    "google.protobuf.DoubleValue": ("float", "_f.fields.floating({v}, {a})"),
    "google.protobuf.FloatValue": ("float", "_f.fields.floating({v}, {a})"),
    "google.protobuf.Int64Value": ("int", "_f.fields.int64({v}, {a})"),
    "google.protobuf.UInt64Value": ("int", "_f.fields.uint64({v}, {a})"),
    "google.protobuf.Int32Value": ("int", "_f.fields.int32({v}, {a})"),
    "google.protobuf.UInt32Value": ("int", "_f.fields.uint32({v}, {a})"),
    "google.protobuf.BoolValue": ("bool", "_f.fields.boolean({v}, {a})"),
    "google.protobuf.StringValue": ("str", "_f.fields.string({v}, {a})"),
    "google.protobuf.BytesValue": ("bytes", "_f.fields.binary({v}, {a})"),
}
"""Well-known types as arguments: (annotation, conversion). ``Value``/``Struct``/``ListValue``
take JSON-like Python values (``_f.JsonValue``) and are built by ``textservice._facade.fields``;
the others are held by betterproto2 as Python values (``datetime``, ``timedelta``, scalars), so
the argument is that value, checked. The other well-known messages (``FieldMask``, ``Any``)
are messages like any other: an instance or a mapping of its fields."""

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
    """The request class as the module names it: ``_pb.EmbedContentRequest``."""
    response: str
    """The response class: ``_pb.Model``, or another package's (``_pb_google_protobuf.Empty``)."""
    timeout: float | None
    retry: RetryPolicy | None
    http: tuple[HttpRule, ...] = ()
    """The RPC's REST bindings (``google.api.http``), the rule first."""


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
    deprecated: str | None = None
    """What the warning passing it gives says (the field is ``deprecated``), else ``None``;
    the runtime adds the function and the argument."""

    @property
    def required(self) -> bool:
        """No default: the caller must pass it."""
        return self.default is None

    @property
    def optional(self) -> bool:
        """Defaults to None, meaning "leave the field unset"."""
        return self.default == "None"


class _RequestParams:
    """A function building its request from ``params`` (a plain base: each dataclass below
    declares ``params`` as its own field)."""

    params: tuple[Param, ...]

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
class DeprecationsPlan:
    """A service module's ``_DEPRECATIONS``: what its arguments can reach that the protos
    mark deprecated (``_f.Deprecations``)."""

    package: str
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    """(message class, its deprecated field attributes)."""
    values: tuple[tuple[str, dict[int, str]], ...]
    """(enum class, its deprecated values: number -> proto name)."""


@dataclass(frozen=True)
class PagingPlan:
    """Where a paged list RPC keeps its items and tokens (betterproto2 attribute names)."""

    items: str
    token: str
    next_token: str


@dataclass(frozen=True)
class RpcFunction(_RequestParams):
    """A facade function around one RPC: a friendly one (``generate_text``,
    ``count_tokens``) or a plain one named after its RPC (``get_model``, ``list_models``)."""

    name: str
    method: MethodSpecPlan
    params: tuple[Param, ...]
    keyword_only: bool
    doc: str
    """The full docstring (unescaped)."""
    returns: str
    """TypedDict name of the result (of each item, for a paged list)."""
    completion: bool
    """Adds ``result`` (first candidate's output) to the response dict."""
    paging: PagingPlan | None = None
    """A paged list RPC: the function iterates over every item of every page."""
    deprecated: str | None = None
    """The warning calling it gives (the RPC is ``deprecated``), else ``None``."""


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
class ContentFunction(_RequestParams):
    """``embed_content``: one item by EmbedContent, sequences by BatchEmbedContents."""

    name: str
    iter_name: str
    single: MethodSpecPlan
    single_vector: tuple[str, ...]
    """Attributes from the EmbedContent response to its floats: ``("embedding", "values")``."""
    batch: MethodSpecPlan | None
    batch_vectors: tuple[str, str] | None
    params: tuple[Param, ...]
    """The request's other fields (model first): the call's fixed fields."""
    content: str
    """The request attribute holding the content; then the content's parts and the part's
    text attributes."""
    parts: str
    text: str
    title: str | None
    requests: str | None
    """The batch request's repeated single requests."""
    task_type: str | None
    dimensionality: str | None
    max_items: int
    doc: str
    iter_doc: str
    deprecated: str | None = None
    deprecated_title: str | None = None
    """What an item's title warns when the title field is deprecated, else ``None``."""

    @property
    def tail_params(self) -> tuple[Param, ...]:
        """The parameters after ``model`` and ``content``."""
        return self.params[1:]


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
class ServicePlan:
    """One service's module of a version's facade."""

    name: str
    """``GenerativeService``."""
    module: str
    """The module's name inside the version's package: ``_generative_service``."""
    doc: str
    methods: tuple[MethodSpecPlan, ...]
    embeddings: EmbeddingsFunction | None
    content: ContentFunction | None
    rpc_functions: tuple[RpcFunction, ...]
    """Friendly functions around one RPC (in table order), then plain ones (in declaration
    order)."""
    streaming: tuple[str, ...]
    """Streaming RPCs: no function."""
    imports: tuple[ModuleImport, ...] = ()
    """Other proto packages whose messages are arguments, requests or responses."""
    deprecations: DeprecationsPlan | None = None
    """What the arguments can reach that is deprecated (``None``: nothing)."""
    content_types: tuple[tuple[str, tuple[str, str]], ...] = ()
    """The ``Content``-like messages message arguments can hold: (class, (parts, text))."""

    @property
    def embeds(self) -> bool:
        """Has an embedding function (uses numpy's types and the iterator names)."""
        return self.embeddings is not None or self.content is not None

    @property
    def uses_datetime(self) -> bool:
        """A parameter is a ``datetime``/``timedelta`` (the module imports ``datetime``)."""
        params = [p for f in self.rpc_functions for p in f.params]
        params += self.content.params if self.content else ()
        return any("datetime." in p.annotation for p in params)

    @property
    def functions(self) -> tuple[str, ...]:
        """Public function names, sync and async."""
        names = []
        if self.embeddings:
            names += [self.embeddings.name, self.embeddings.iter_name]
        if self.content:
            names += [self.content.name, self.content.iter_name]
        names += [f.name for f in self.rpc_functions]
        return tuple(n for base in names for n in (base, f"{base}_async"))

    @property
    def result_types(self) -> tuple[str, ...]:
        """TypedDicts the functions return."""
        names = []
        if self.embeds:
            names += ["EmbeddingDict", "BatchEmbeddingDict", "ArrayEmbeddingDict"]
        names += [f.returns for f in self.rpc_functions]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class FacadePlan:
    """Everything the templates render for one API version."""

    version: str
    package: str
    sources: tuple[str, ...]
    proto_import: ModuleImport
    type_imports: tuple[ModuleImport, ...]
    """betterproto2 modules ``types.py`` needs (for enums)."""
    services: tuple[ServicePlan, ...]
    typed_dicts: tuple[TypedDictPlan, ...]
    float_type: str = "float"

    @property
    def module(self) -> str:
        """The facade's import path, ``textservice.v1beta``."""
        return f"textservice.{self.version}"

    @property
    def service_doc(self) -> str:
        """The services' own comments."""
        return docstrings.join(*(s.doc for s in self.services))

    @property
    def embeddings(self) -> EmbeddingsFunction | None:
        """The version's ``generate_embeddings``, if any."""
        return next((s.embeddings for s in self.services if s.embeddings), None)

    @property
    def content(self) -> ContentFunction | None:
        """The version's ``embed_content``, if any."""
        return next((s.content for s in self.services if s.content), None)

    @property
    def embeds(self) -> bool:
        """A service has an embedding function (``types`` holds the embedding dicts)."""
        return any(s.embeds for s in self.services)

    @property
    def embedding_names(self) -> tuple[str, ...]:
        """The embedding functions (``generate_embeddings``, ``embed_content``)."""
        found = (self.embeddings, self.content)
        return tuple(f.name for f in found if f is not None)

    @property
    def methods(self) -> tuple[MethodSpecPlan, ...]:
        """Every wrapped RPC's spec."""
        return tuple(m for s in self.services for m in s.methods)

    @property
    def rpc_functions(self) -> tuple[RpcFunction, ...]:
        """Every function around one RPC."""
        return tuple(f for s in self.services for f in s.rpc_functions)

    def rpc_function(self, name: str) -> RpcFunction | None:
        """The planned function called ``name``, if any."""
        return next((f for f in self.rpc_functions if f.name == name), None)

    @property
    def functions(self) -> tuple[str, ...]:
        """Public function names, sync and async."""
        return tuple(n for s in self.services for n in s.functions)

    @property
    def result_types(self) -> tuple[str, ...]:
        """TypedDicts the functions return (re-exported by the facade)."""
        return tuple(dict.fromkeys(n for s in self.services for n in s.result_types))

    @property
    def streaming(self) -> tuple[str, ...]:
        """Streaming RPCs of every service (no functions)."""
        return tuple(f"{s.name}.{m}" for s in self.services for m in s.streaming)

    @property
    def exports(self) -> dict[str, str]:
        """Each public name and the module (inside the package) defining it."""
        out = {name: s.module for s in self.services for name in s.functions}
        out.update({name: "types" for name in self.result_types})
        return dict(sorted(out.items()))


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
            if f.type_name in WELL_KNOWN_RESULTS:
                return WELL_KNOWN_RESULTS[f.type_name]
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
        if f.nullable and element not in ("Any",):
            return f"{element} | None"
        return element


def dict_key(f: Field) -> str:
    """The key ``_f.plain`` gives a field: betterproto2's ``to_dict`` snake-case key."""
    return betterproto2.Casing.SNAKE(f.python_name).rstrip("_")


def _module_import(package: str, alias: str = "_pb") -> ModuleImport:
    parent, _, name = package.rpartition(".")
    return ModuleImport(
        parent=f"textservice._proto.{parent}" if parent else "textservice._proto",
        name=name,
        alias=alias,
    )


def _package_alias(package: str) -> str:
    return "_pb_" + package.replace(".", "_")


def _method_spec(
    service: Service, method: Method, api: ApiPackage, used: dict[str, str] | None = None
) -> MethodSpecPlan:
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
        request=qualified(api.message(method.input_type), api, used),
        response=qualified(api.message(method.output_type), api, used),
        timeout=method.policy.timeout,
        retry=method.policy.retry,
        http=method.http,
    )


def qualified(message: Message, api: ApiPackage, used: dict[str, str] | None = None) -> str:
    """``_pb.Name`` for a message of the version's package, ``_pb_<package>.Name`` for another
    package's (recorded in ``used``: the service module imports it)."""
    if message.package == api.package:
        return f"_pb.{message.python_name}"
    if used is None:
        raise CodegenError(f"{message.full_name}: a type of another package is not supported here")
    alias = used.setdefault(message.package, _package_alias(message.package))
    return f"{alias}.{message.python_name}"


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


def _deprecated_rpc(method: Method, api: ApiPackage) -> str | None:
    """What calling a deprecated RPC's function warns (the runtime adds the function)."""
    if not method.deprecated:
        return None
    return f"the {method.name} RPC is deprecated in {api.package}"


def _deprecated_field(message: Message, f: Field, api: ApiPackage) -> str:
    """What setting a deprecated request field warns (the runtime adds function and argument)."""
    return f"the field {message.python_name}.{f.name} is deprecated in {api.package}"


def _deprecated_doc(note: str | None, method: Method) -> str:
    if note is None:
        return ""
    return (
        f"Deprecated: the protos mark the {method.name} RPC ``deprecated``; calling this warns "
        "with ``DeprecationWarning``."
    )


@dataclass
class _Arguments:
    """Parameter types of one service's module, and the other proto packages it needs."""

    api: ApiPackage
    used: dict[str, str] = field(default_factory=dict)
    """package -> alias of the other packages whose messages are arguments or results."""
    deprecated_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Message full name -> its deprecated fields (attributes), for the arguments that reach
    it (the module's ``_DEPRECATIONS``)."""
    deprecated_values: dict[str, dict[int, str]] = field(default_factory=dict)
    """Enum full name -> its deprecated values (number -> name), likewise."""
    content_types: dict[str, tuple[str, str]] = field(default_factory=dict)
    """``Content``-like message full name -> (parts, text) attributes, for the message
    arguments whose mappings can hold one (the module's ``_CONTENT_TYPES``)."""

    def imports(self) -> tuple[ModuleImport, ...]:
        return tuple(_module_import(p, a) for p, a in sorted(self.used.items()))

    def _reached(self, f: Field) -> set[str]:
        """The full names of the messages and enums a value of ``f`` can hold, at any depth
        (well-known types, taken as Python values, not looked into)."""
        api = self.api
        todo = [f.map_value if f.kind is Kind.MAP else f]
        seen: set[str] = set()
        while todo:
            one = todo.pop()
            if one is None or one.type_name is None or one.type_name in seen:
                continue
            seen.add(one.type_name)
            known = one.kind is Kind.MESSAGE and one.type_name in api.messages
            if known and one.type_name not in WELL_KNOWN_ARGUMENTS:
                fields = api.message(one.type_name).fields
                todo += [g.map_value if g.kind is Kind.MAP else g for g in fields]
        return seen

    def reaches_deprecated(self, f: Field) -> bool:
        """Whether a value of ``f`` can hold a deprecated field or enum value (those it can
        are recorded for the module's ``_DEPRECATIONS``)."""
        api = self.api
        found = False
        for name in sorted(self._reached(f)):
            enum = api.enums.get(name)
            if enum is not None:
                old = {v.number: v.name for v in enum.values if v.deprecated}
                if old and enum.package == api.package:
                    self.deprecated_values[name] = old
                    found = True
            elif name in api.messages:
                old_fields = tuple(g.python_name for g in api.message(name).fields if g.deprecated)
                if old_fields:
                    self.deprecated_fields[name] = old_fields
                    found = True
        return found

    def reaches_contents(self, message: Message) -> bool:
        """Whether a mapping of ``message``'s fields can hold a ``Content``-like message
        (those it can are recorded for the module's ``_CONTENT_TYPES``)."""
        api = self.api
        found = False
        for g in message.fields:
            for name in sorted(self._reached(g)):
                if name not in api.messages or api.message(name).package != api.package:
                    continue
                parts = content_parts(api.message(name), api)
                if parts is not None:
                    self.content_types[name] = (parts[0].python_name, parts[1].python_name)
                    found = True
        return found

    def content_types_plan(self) -> tuple[tuple[str, tuple[str, str]], ...]:
        """The module's ``_CONTENT_TYPES``: (class, (parts, text)) of each one reached."""
        return tuple(
            (f"_pb.{self.api.message(name).python_name}", fields)
            for name, fields in sorted(self.content_types.items())
        )

    def deprecations(self) -> DeprecationsPlan | None:
        """The module's ``_DEPRECATIONS``, when an argument reaches something deprecated."""
        if not self.deprecated_fields and not self.deprecated_values:
            return None
        api = self.api
        return DeprecationsPlan(
            package=api.package,
            fields=tuple(
                (qualified(api.message(name), api, self.used), attributes)
                for name, attributes in sorted(self.deprecated_fields.items())
            ),
            values=tuple(
                (f"_pb.{api.enums[name].python_name}", names)
                for name, names in sorted(self.deprecated_values.items())
            ),
        )

    def payload(self, f: Field, where: str) -> tuple[str, str] | None:
        """A ``Content``-like field: also accepts a ``str`` (one text part)."""
        if (
            f.kind is not Kind.MESSAGE
            or f.type_name is None
            or f.type_name not in self.api.messages
        ):
            return None
        message = self.api.message(f.type_name)
        found = content_parts(message, self.api)
        if found is None or message.package != self.api.package:
            return None
        parts, text = found
        cls = f"_pb.{message.python_name}"
        names = f"parts={parts.python_name!r}, text={text.python_name!r}"
        item = f"str | {cls} | Mapping[str, Any]"
        if f.repeated:
            return (
                f"{item} | Sequence[{item}]",
                f"_f.fields.contents({cls}, {{v}}, {{a}}, {names})",
            )
        return item, f"_f.fields.content({cls}, {{v}}, {{a}}, {names})"

    def element(self, f: Field, request: Message, where: str) -> tuple[str, str]:
        """(annotation, conversion with ``{v}``/``{a}`` placeholders) of one value of ``f``."""
        api = self.api
        if f.kind is Kind.MAP:
            raise CodegenError(f"{where}: map fields cannot be facade arguments yet")
        if f.kind is Kind.ENUM:
            assert f.type_name is not None
            enum = api.enums[f.type_name]
            if enum.package != api.package:
                raise CodegenError(f"{where}: enums of other packages cannot be arguments yet")
            cls = f"_pb.{enum.python_name}"
            return f"{cls} | str | int", f"_f.fields.enum({cls}, {{v}}, {{a}})"
        if f.kind is Kind.MESSAGE:
            assert f.type_name is not None
            if f.type_name in WELL_KNOWN_ARGUMENTS:
                return WELL_KNOWN_ARGUMENTS[f.type_name]
            message = api.message(f.type_name)
            if message.package != api.package:
                # another package's message (a FieldMask): the module imports its package
                cls = qualified(message, api, self.used)
                return (
                    f"{cls} | Mapping[str, Any]",
                    f"_f.fields.message({cls}, {{v}}, {{a}})",
                )
            wrapped = text_wrapper(message)
            if wrapped is not None:
                return (
                    f"str | _pb.{message.python_name}",
                    f"_f.fields.message(_pb.{message.python_name}, {{v}}, {{a}}, "
                    f"text_field={wrapped.python_name!r})",
                )
            contents = ", contents=_CONTENT_TYPES" if self.reaches_contents(message) else ""
            return (
                f"_pb.{message.python_name} | Mapping[str, Any]",
                f"_f.fields.message(_pb.{message.python_name}, {{v}}, {{a}}{contents})",
            )
        annotation = "int" if f.kind.is_integer else _PY_SCALARS[f.kind]
        return annotation, f"_f.fields.{_SCALAR_CHECKS[f.kind]}({{v}}, {{a}})"

    def params(
        self,
        method: Method,
        function: str,
        *,
        default_model: str | None = None,
        keyword_only: bool = False,
        exclude: Iterable[str] = (),
        taken: Iterable[str] = (),
        convert: dict[str, str] | None = None,
    ) -> tuple[Param, ...]:
        """The request's fields as parameters: those of the first ``method_signature`` first
        (required ones before optional ones unless ``keyword_only``), output-only and
        ``exclude``d ones left out. ``convert`` replaces the conversion of a field (by name)."""
        api = self.api
        request = api.message(method.input_type)
        signature = method.signatures[0] if method.signatures else ()
        for name in signature:
            if request.field(name) is None:
                raise CodegenError(
                    f"{method.name}: method_signature names {name!r}, "
                    f"which {request.full_name} does not have"
                )
        skipped = set(exclude)
        ordered = [request.field(n) for n in signature if n not in skipped]
        ordered += [
            f
            for f in request.fields
            if f.name not in signature and not f.output_only and f.name not in skipped
        ]
        params: list[Param] = []
        used = set(OWN_PARAMETERS) | TEMPLATE_NAMES | set(taken)
        for f in ordered:
            assert f is not None
            where = f"{request.full_name}.{f.name}"
            name = parameter_name(f.name, used)
            used.add(name)
            payload = self.payload(f, where)
            if f.name == MODEL_FIELD and f.kind is Kind.STRING and not f.repeated:
                annotation, conversion = "str | HasName", "_f.check_model({v})"
                default = repr(default_model) if default_model else None
            elif payload is not None:
                annotation, conversion = payload
                default = None if f.required else "None"
            elif f.repeated and f.kind is Kind.STRING:
                annotation, conversion = "str | Sequence[str]", "_f.fields.strings({v}, {a})"
                default = "None"
            elif f.repeated:
                element, item = self.element(f, request, where)
                annotation = f"Sequence[{element}]"
                conversion = (
                    "_f.fields.repeated({v}, {a}, lambda v, a: " + item.format(v="v", a="a") + ")"
                )
                default = "None"
            else:
                annotation, conversion = self.element(f, request, where)
                default = None if f.required else "None"
            if convert and f.name in convert:
                conversion = convert[f.name]
            if default == "None":
                annotation += " | None"
            note = None
            doc = f.comment
            if self.reaches_deprecated(f):
                conversion = f"_DEPRECATIONS.checked({conversion}, {{a}})"
            if f.deprecated:
                note = _deprecated_field(request, f, api)
                doc = docstrings.join(
                    "Deprecated: the protos mark this field ``deprecated``; passing it warns "
                    "with ``DeprecationWarning``.",
                    doc,
                )
            params.append(
                Param(
                    name=name,
                    attribute=f.python_name,
                    annotation=annotation,
                    default=default,
                    convert=conversion.format(v=name, a=repr(name)),
                    doc=doc,
                    deprecated=note,
                )
            )
        if not keyword_only:  # positional: required ones first, keeping their order
            params.sort(key=lambda p: not p.required)
        return tuple(params)


def _rpc_function(
    name: str,
    service: Service,
    method: Method,
    types: _TypedDicts,
    arguments: _Arguments,
    *,
    keyword_only: bool = False,
    default_model: str | None = None,
    completion: bool = False,
) -> RpcFunction:
    api = types.api
    response = api.message(method.output_type)
    items = page_items(method, api)
    paging = None
    if items is not None:
        assert items.type_name is not None
        returns = types.add(items.type_name)
        token = api.message(method.input_type).field(PAGE_TOKEN)
        following = response.field(NEXT_PAGE_TOKEN)
        assert token is not None and following is not None
        paging = PagingPlan(items.python_name, token.python_name, following.python_name)
    else:
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
    spec = _method_spec(service, method, api, arguments.used)
    params = arguments.params(method, name, default_model=default_model, keyword_only=keyword_only)
    deprecated = _deprecated_rpc(method, api)
    if paging is not None:
        assert items is not None
        returns_doc = docstrings.join(
            items.comment,
            f"Each item of every page, as a dict (the ``{items.name}`` of each "
            f"{response.python_name}): pages are fetched as you iterate, each with the call's "
            "options.",
        )
        title = "Yields"
    elif completion:
        returns_doc = docstrings.join(
            response.comment,
            f"As a dict; ``result`` is the first candidate's ``{COMPLETION_OUTPUT}`` (None without "
            "candidates). Enum values are enum members, unset messages are None.",
        )
        title = "Returns"
    else:
        returns_doc = docstrings.join(response.comment, "As a dict.")
        title = "Returns"
    summary = docstrings.join(_deprecated_doc(deprecated, method), method.comment)
    return RpcFunction(
        name=name,
        method=spec,
        params=params,
        keyword_only=keyword_only,
        doc=_function_doc(
            summary, [(p.name, p.doc) for p in params], returns_doc, [spec], returns_title=title
        ),
        returns=returns,
        completion=completion,
        paging=paging,
        deprecated=deprecated,
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
            _embedding_returns("string", "strings"),
            specs,
            extra=output_arg,
        ),
        iter_doc=_iter_doc(single, batch, model, specs, output_arg, function.name, "texts"),
    )


def _embedding_returns(one: str, many: str) -> str:
    return docstrings.join(
        f'``{{"embedding": [float, ...]}}`` for one {one}, ``{{"embedding": [[float, ...], '
        "...]}`` for a sequence. The values are the float32 values the API sent, as Python "
        "floats.",
        'With ``output="numpy"``: ``{"embedding": array}``, a float32 array of shape ``(dim,)`` '
        f"for one {one} and ``(n, dim)`` for a sequence of n {many} (``(0, 0)`` for an empty "
        "one: no call is made), holding the same float32 values. Embeddings of different "
        'lengths in one call raise ``Internal`` (``output="list"`` returns them as they are).',
    )


def _content(match: Match, types: _TypedDicts, arguments: _Arguments) -> ContentFunction:
    """``embed_content`` and ``iter_embed_content`` of a ``Shape.EMBED`` row for content."""
    api = types.api
    service, single, content = match.service, match.rpc.method, match.rpc.payload_field
    function = match.function
    request = api.message(single.input_type)
    if match.rpc.payload is not Payload.CONTENT or content is None or content.type_name is None:
        raise CodegenError(f"{single.name}: {function.name} embeds content")
    found = content_parts(api.message(content.type_name), api)
    path = vector_path(api.message(single.output_type), api)
    model = request.field(MODEL_FIELD)
    if found is None or path is None or model is None:
        raise CodegenError(f"{single.name}: not an embedding of Content")
    parts, text = found
    batch = match.batch.method if match.batch is not None else None
    batch_spec = batch_vectors_ = requests = None
    if match.batch is not None and batch is not None:
        pair = batch_vectors(api.message(batch.output_type), api)
        items = match.batch.payload_field
        if match.batch.payload is not Payload.REQUESTS or items is None or pair is None:
            raise CodegenError(f"{batch.name}: {function.name} sends repeated requests")
        batch_spec = _method_spec(service, batch, api, arguments.used)
        batch_vectors_ = (pair[0].python_name, pair[1].python_name)
        requests = items.python_name
    roles = resolve(request)  # the options the runtime gives rules to, by number and type
    title, task, dim = (roles.get(r.name) for r in (TITLE, TASK_TYPE, OUTPUT_DIMENSIONALITY))
    convert = {}
    if task is not None:
        assert task.type_name is not None
        enum = api.enums[task.type_name]
        convert[task.name] = f"_f.task_type(_pb.{enum.python_name}, {{v}}, {{a}})"
    taken = {"content", "contents", *CONTENT_OWN_PARAMETERS, "batch_size", "progress"}
    params = arguments.params(
        single, function.name, exclude=[content.name], taken=taken, convert=convert
    )
    if params[0].attribute != model.python_name:
        raise CodegenError(f"{single.name}: {function.name} needs the model first")
    if any(p.required for p in params[1:]):
        raise CodegenError(
            f"{request.full_name}: a required field besides model and {content.name}"
        )
    single_spec = _method_spec(service, single, api, arguments.used)
    specs = [single_spec, *([batch_spec] if batch_spec else [])]
    how = (
        f"sent as {batch.name} calls of at most {BATCH_LIMIT} items"
        if batch is not None
        else f"each sent as its own {single.name} call (this API version has no batch RPC)"
    )
    content_doc = docstrings.join(
        content.comment,
        "One item, or a sequence of items (" + how + "); results come back in input order. "
        'An item is a ``str``, or a mapping ``{"text": str, "title": str}`` giving that '
        "document its own title (the title is optional; it overrides ``title``); or media: a "
        '``pathlib.Path`` (its mime type from its suffix), a blob ``{"mime_type": str, '
        '"data": bytes}``, or ``{"parts": [...]}`` of strings, blobs and paths, embedded as '
        "ONE vector. Media goes only to a model that takes it (``ValueError`` naming the item "
        "otherwise, before any call); a file is read when its batch is sent. A model that "
        "takes its task in the text (``models/gemini-embedding-2``) gets ``task_type`` and "
        "titles as the instruction text Google documents, never as request fields.",
    )
    arg_docs = [(p.name, p.doc) for p in params]
    aliases = [f"``{a!r}``".replace("'", '"') for a in profiles().TASK_TYPE_ALIASES]
    task_doc = (
        "The enum member, its number, or its name in any case; also "
        + ", ".join(aliases[:-1])
        + f" and {aliases[-1]} (the old ``google.generativeai`` names), where this version's "
        "enum has the member."
    )
    extra_docs = {
        TASK_TYPE.name: task_doc,
        TITLE.name: f"Allowed only with the {profiles().TITLED_TASK} task type (``ValueError`` "
        "otherwise, before any call).",
        OUTPUT_DIMENSIONALITY.name: "A positive int (``ValueError`` otherwise, before any call).",
    }
    role_of = {f.python_name: name for name, f in roles.items()}
    arg_docs = [
        (name, docstrings.join(doc, extra_docs.get(role_of.get(p.attribute, ""), "")))
        for (name, doc), p in zip(arg_docs, params, strict=True)
    ]
    own = [("output", OUTPUT_DOC), ("normalize", NORMALIZE_DOC)]
    summary = single.comment
    if batch is not None and batch.comment:
        summary = docstrings.join(summary, batch.comment)
    deprecated = _deprecated_rpc(single, api)
    summary = docstrings.join(_deprecated_doc(deprecated, single), summary)
    doc = _function_doc(
        summary,
        [arg_docs[0], ("content", content_doc), *arg_docs[1:]],
        _embedding_returns("item", "items"),
        specs,
        extra=own,
    )
    iter_name = function.iterator or f"iter_{function.name}"
    iter_doc = _iter_doc(
        single,
        batch,
        model,
        specs,
        own,
        function.name,
        "contents",
        between=arg_docs[1:],
        item_doc=(
            "Items (not one item), as ``content`` takes them: a collection with a length (a "
            "list, a tuple, an array) is checked at once; an iterable without one (a generator, "
            "a file's lines) is read as its batches are sent, each item checked as it is read, "
            "so it is never held whole."
        ),
    )
    return ContentFunction(
        name=function.name,
        iter_name=iter_name,
        single=single_spec,
        single_vector=tuple(f.python_name for f in path),
        batch=batch_spec,
        batch_vectors=batch_vectors_,
        params=params,
        content=content.python_name,
        parts=parts.python_name,
        text=text.python_name,
        title=title.python_name if title is not None else None,
        requests=requests,
        task_type=task.python_name if task is not None else None,
        dimensionality=dim.python_name if dim is not None else None,
        max_items=BATCH_LIMIT,
        doc=doc,
        iter_doc=iter_doc,
        deprecated=deprecated,
        deprecated_title=(
            _deprecated_field(request, title, api)
            if title is not None and title.deprecated
            else None
        ),
    )


def _iter_doc(
    single: Method,
    batch: Method | None,
    model: Field | None,
    specs: list[MethodSpecPlan],
    extra: list[tuple[str, str]],
    function: str,
    argument: str,
    *,
    between: Iterable[tuple[str, str]] = (),
    item_doc: str = (
        "Strings (not one ``str``): a collection with a length (a list, a tuple, an array) is "
        "checked at once; an iterable without one (a generator, a file's lines) is read as its "
        "batches are sent, each text checked as it is read, so it is never held whole."
    ),
) -> str:
    """The batch-by-batch iterator's docstring (``iter_embeddings``, ``iter_embed_content``)."""
    unit = "texts" if argument == "texts" else "items"
    if batch is not None:
        how = (
            f"Each batch is one {batch.name} call of ``batch_size`` {unit} (1-{BATCH_LIMIT}; the "
            "last batch may hold fewer"
            + ("; with media items, as many as fit in one request)." if unit == "items" else ").")
        )
    else:
        how = (
            f"This API version has no batch RPC: each {unit[:-1]} is its own {single.name} call, "
            f"and ``batch_size`` {unit} (1-{BATCH_LIMIT}; the last batch may hold fewer) are "
            "yielded together."
        )
    summary = docstrings.join(
        f"Embed ``{argument}`` batch by batch: yields each batch's embeddings, in input order.",
        how + " Up to the client's ``max_concurrency`` calls are in flight while you consume "
        "batches, and at most as many finished batches wait for you, so memory stays bounded "
        f"however long ``{argument}`` is. Concatenated, the batches equal "
        f'``{function}(model, {argument}, output=...)["embedding"]``.',
        "A timeout (``request_options={\"timeout\": s}``, the client's, or the method's "
        "default) bounds each batch's call with its retries, not the whole iteration.",
        "Raises ``TextServiceError`` when a batch fails after its retries: the batches before "
        "it have been yielded, ``error.partial.delivered`` says how many items that was, and "
        "``error.partial.embeddings`` holds the later batches that finished but were held back "
        "for order (yielded vectors are not kept). Stopping "
        "early (``break``, closing the iterator, ``KeyboardInterrupt``) cancels the calls in "
        "flight. Arguments are checked at once (``TypeError``/``ValueError``), before any "
        f"call; the {unit} of an iterable without a length as they are read (an "
        "error names the index, raised after the batches before it).",
    )
    args = [
        ("model", model.comment if model else ""),
        (argument, item_doc),
        *between,
    ]
    tail = [
        ("batch_size", f"Items per yielded batch, 1-{BATCH_LIMIT}."),
        (
            "progress",
            "Called as ``progress(done, total)`` (items delivered so far, of all items) before "
            "each batch is yielded, in the thread that iterates; not for an iterable of "
            "unknown length.",
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
        aliases[package] = _package_alias(package)
    return aliases


def package_matches(api: ApiPackage) -> list[Match]:
    """The rows of the table of shapes the services of ``api`` implement, in table order.

    When two services implement the same row, ``shapes.pick`` says which one the function
    calls (the other RPC gets a plain function).
    """
    found: dict[str, list[Match]] = {}
    for service in api.services:
        for match in match_service(service, api):
            found.setdefault(match.function.name, []).append(match)
    chosen = [
        pick(matches, lambda m: m.rpc.method.name, matches[0].function.rpcs, name)
        for name, matches in found.items()
    ]
    return sorted(chosen, key=lambda m: _ROW_ORDER[m.function.name])


_ROW_ORDER = {row.name: index for index, row in enumerate(FRIENDLY_FUNCTIONS)}


def plain_rpcs(service: Service, api: ApiPackage, matches: Iterable[Match]) -> list[Classified]:
    """The unary RPCs of ``service`` no row of the table wraps: each gets a plain function."""
    wrapped = {
        c.method.name for m in matches if m.service is service for c in (m.rpc, m.batch) if c
    }
    return [
        c
        for c in classify_service(service, api)
        if c.shape is not Shape.STREAMING and c.method.name not in wrapped
    ]


def has_functions(api: ApiPackage) -> bool:
    """Whether any service of ``api`` has a unary RPC (so the version gets a facade)."""
    return any(not m.streaming for s in api.services for m in s.methods)


def _files_used(
    api: ApiPackage, methods: Iterable[Method], services: Iterable[Service]
) -> set[str]:
    """The package's proto files declaring the wrapped services and the types they reach."""
    files = {s.file for s in services}
    todo = [t for m in methods for t in (m.input_type, m.output_type)]
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


def _service_plan(
    service: Service,
    matches: list[Match],
    types: _TypedDicts,
    taken: dict[str, str],
) -> ServicePlan | None:
    """The module of one service (``None`` when it has only streaming RPCs)."""
    api = types.api
    arguments = _Arguments(api)
    embeddings: EmbeddingsFunction | None = None
    content: ContentFunction | None = None
    rpc_functions: list[RpcFunction] = []
    mine = [m for m in matches if m.service is service]
    for match in mine:
        row = match.function
        if row.shape is Shape.EMBED and row.payload is Payload.TEXT:
            embeddings = _embeddings(match, api)
        elif row.shape is Shape.EMBED:
            content = _content(match, types, arguments)
        else:
            rpc_functions.append(
                _rpc_function(
                    row.name,
                    service,
                    match.rpc.method,
                    types,
                    arguments,
                    keyword_only=row.keyword_only,
                    default_model=row.default_model,
                    completion=row.first_candidate_result,
                )
            )
    for plain in plain_rpcs(service, api, matches):
        rpc_functions.append(
            _rpc_function(snake_name(plain.method.name), service, plain.method, types, arguments)
        )
    streaming = tuple(m.name for m in service.methods if m.streaming)
    if embeddings is None and content is None and not rpc_functions:
        return None
    specs: dict[str, MethodSpecPlan] = {}
    for spec in (
        embeddings.single if embeddings else None,
        embeddings.batch if embeddings else None,
        content.single if content else None,
        content.batch if content else None,
        *(f.method for f in rpc_functions),
    ):
        if spec is not None:
            specs[spec.name] = spec
    plan = ServicePlan(
        name=service.name,
        module="_" + snake_name(service.name),
        doc=service.comment,
        methods=tuple(specs[name] for name in sorted(specs)),
        embeddings=embeddings,
        content=content,
        rpc_functions=tuple(rpc_functions),
        streaming=streaming,
        deprecations=arguments.deprecations(),
        content_types=arguments.content_types_plan(),
        imports=arguments.imports(),
    )
    for name in plan.functions:
        if name in taken:
            raise CodegenError(
                f"{api.package}: {taken[name]} and {service.name} would both define {name}"
            )
        taken[name] = service.name
    return plan


def plan_facade(api: ApiPackage) -> FacadePlan:
    """The facade of one API version; ``CodegenError`` if no service has a unary RPC."""
    if not api.version.isidentifier():
        raise CodegenError(f"{api.package}: {api.version!r} cannot be a Python module name")
    if not has_functions(api):
        raise CodegenError(
            f"{api.package} has no unary RPC, so no facade function (streaming RPCs get none)"
        )
    matches = package_matches(api)
    aliases = _package_aliases(api, (e.package for e in api.enums.values()))
    types = _TypedDicts(api=api, aliases=aliases)
    taken: dict[str, str] = {}
    services = [
        plan
        for service in api.services
        if (plan := _service_plan(service, matches, types, taken)) is not None
    ]
    modules = [s.module for s in services]
    if len(set(modules)) != len(modules) or "types" in modules:
        raise CodegenError(f"{api.package}: two services would share a facade module")
    type_imports = tuple(
        ModuleImport(parent=m.parent, name=m.name, alias=alias)
        for package, alias in sorted(aliases.items())
        if alias in types.used_aliases
        for m in (_module_import(package),)
    )
    wrapped_services = [s for s in api.services if any(p.name == s.name for p in services)]
    methods = [m for s in wrapped_services for m in s.methods if not m.streaming]
    sources = _files_used(api, methods, wrapped_services)
    if api.service_config:
        sources.add(api.service_config)
    return FacadePlan(
        version=api.version,
        package=api.package,
        sources=tuple(sorted(sources)),
        proto_import=_module_import(api.package),
        type_imports=type_imports,
        services=tuple(services),
        typed_dicts=tuple(types.plans.values()),
    )


__all__ = ["FacadePlan", "ServicePlan", "has_functions", "package_matches", "plan_facade"]
