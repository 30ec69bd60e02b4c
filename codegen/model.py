"""The API model: frozen facts read from the descriptor set, the only input of the facade plan.

Built in one place (``codegen.descriptors``) and by hand in unit tests; templates never see raw
descriptors. Names here are proto names unless a field says ``python`` (betterproto2's names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Behavior(Enum):
    """``google.api.field_behavior`` values the facade cares about (others are ignored)."""

    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"
    OUTPUT_ONLY = "OUTPUT_ONLY"
    INPUT_ONLY = "INPUT_ONLY"
    IMMUTABLE = "IMMUTABLE"
    IDENTIFIER = "IDENTIFIER"


class Kind(Enum):
    """What a field holds; scalars by their proto type name."""

    DOUBLE = "double"
    FLOAT = "float"
    INT32 = "int32"
    INT64 = "int64"
    UINT32 = "uint32"
    UINT64 = "uint64"
    SINT32 = "sint32"
    SINT64 = "sint64"
    FIXED32 = "fixed32"
    FIXED64 = "fixed64"
    SFIXED32 = "sfixed32"
    SFIXED64 = "sfixed64"
    BOOL = "bool"
    STRING = "string"
    BYTES = "bytes"
    ENUM = "enum"
    MESSAGE = "message"
    MAP = "map"

    @property
    def is_scalar(self) -> bool:
        """Numbers, bools, strings and bytes."""
        return self not in (Kind.ENUM, Kind.MESSAGE, Kind.MAP)

    @property
    def is_float(self) -> bool:
        """``float`` or ``double``."""
        return self in (Kind.FLOAT, Kind.DOUBLE)

    @property
    def is_integer(self) -> bool:
        """Any of the integer proto types."""
        return (
            self.is_scalar
            and not self.is_float
            and self
            not in (
                Kind.BOOL,
                Kind.STRING,
                Kind.BYTES,
            )
        )


@dataclass(frozen=True)
class RetryPolicy:
    """A service-config ``retryPolicy``."""

    max_attempts: int
    initial_backoff: float
    max_backoff: float
    multiplier: float
    retry_codes: tuple[str, ...]


@dataclass(frozen=True)
class MethodPolicy:
    """Default timeout and retry of one method; ``None`` where the service config names none."""

    timeout: float | None = None
    retry: RetryPolicy | None = None


@dataclass(frozen=True)
class Field:
    """One message field."""

    name: str
    """Proto name, e.g. ``candidate_count``."""
    python_name: str
    """betterproto2's attribute name (keywords get a trailing ``_``)."""
    number: int
    kind: Kind
    repeated: bool = False
    proto3_optional: bool = False
    """Declared ``optional`` in proto3: ``None`` when unset."""
    in_oneof: bool = False
    """Member of a real ``oneof`` (betterproto2 makes it ``None`` when unset, too)."""
    type_name: str | None = None
    """Full proto name (no leading dot) of the message or enum type."""
    map_key: Kind | None = None
    map_value: Field | None = None
    """For maps: the key kind and the value (a field named ``value``)."""
    behaviors: frozenset[Behavior] = frozenset()
    comment: str = ""
    oneof: str | None = None
    """The real ``oneof`` it belongs to (never the synthetic one of a proto3 ``optional``)."""
    deprecated: bool = False
    """``[deprecated = true]``."""

    @property
    def required(self) -> bool:
        """Marked ``REQUIRED``."""
        return Behavior.REQUIRED in self.behaviors

    @property
    def output_only(self) -> bool:
        """Marked ``OUTPUT_ONLY``: never set by clients."""
        return Behavior.OUTPUT_ONLY in self.behaviors

    @property
    def nullable(self) -> bool:
        """betterproto2 holds ``None`` when unset (optional scalars, oneofs, messages)."""
        if self.repeated or self.kind is Kind.MAP:
            return False
        return self.proto3_optional or self.in_oneof or self.kind is Kind.MESSAGE


@dataclass(frozen=True)
class Message:
    """A message type."""

    full_name: str
    """e.g. ``google.ai.generativelanguage.v1beta.TextCompletion``."""
    python_name: str
    """betterproto2's class name (nested types flattened: ``ContentFilterBlockedReason``)."""
    package: str
    fields: tuple[Field, ...] = ()
    comment: str = ""
    file: str = ""
    """The proto file declaring it, relative to the proto root."""
    deprecated: bool = False

    def field(self, name: str) -> Field | None:
        """The field with proto name ``name``, if any."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def oneofs(self) -> dict[str, tuple[Field, ...]]:
        """Each real ``oneof`` and its fields, in declaration order."""
        groups: dict[str, tuple[Field, ...]] = {}
        for f in self.fields:
            if f.oneof is not None:
                groups[f.oneof] = (*groups.get(f.oneof, ()), f)
        return groups

    @property
    def required_fields(self) -> tuple[Field, ...]:
        """The fields marked ``REQUIRED``."""
        return tuple(f for f in self.fields if f.required)


@dataclass(frozen=True)
class EnumValue:
    """One value of an enum."""

    name: str
    number: int
    comment: str = ""
    deprecated: bool = False


@dataclass(frozen=True)
class EnumType:
    """An enum type."""

    full_name: str
    python_name: str
    package: str
    comment: str = ""
    values: tuple[EnumValue, ...] = ()
    file: str = ""
    deprecated: bool = False


@dataclass(frozen=True)
class HttpRule:
    """One binding of a ``google.api.http`` rule: the REST face of an RPC."""

    verb: str
    """``GET``, ``POST``, ``PUT``, ``PATCH``, ``DELETE`` (or a ``custom`` rule's kind)."""
    path: str
    """The path template, e.g. ``/v1beta/{model=models/*}:embedContent``."""
    body: str = ""
    """``*`` (the whole request but the path's fields), a field's name, or ``""`` (no body:
    the other fields go in the query string)."""


@dataclass(frozen=True)
class Method:
    """One RPC (unary unless a ``*_streaming`` flag says otherwise)."""

    name: str
    input_type: str
    """Full proto name of the request message."""
    output_type: str
    signatures: tuple[tuple[str, ...], ...] = ()
    """Each ``google.api.method_signature``, split into field names."""
    comment: str = ""
    policy: MethodPolicy = field(default_factory=MethodPolicy)
    client_streaming: bool = False
    server_streaming: bool = False
    deprecated: bool = False
    """``option deprecated = true``."""
    http: tuple[HttpRule, ...] = ()
    """The ``google.api.http`` rule's bindings: the rule itself, then its
    ``additional_bindings`` in order (empty: the RPC has no REST face)."""

    @property
    def streaming(self) -> bool:
        """Either side streams (the facade wraps unary RPCs only)."""
        return self.client_streaming or self.server_streaming


@dataclass(frozen=True)
class Service:
    """A service and its methods."""

    name: str
    full_name: str
    methods: tuple[Method, ...] = ()
    comment: str = ""
    file: str = ""
    deprecated: bool = False

    def method(self, name: str) -> Method | None:
        """The method called ``name``, if the service has it."""
        return next((m for m in self.methods if m.name == name), None)


@dataclass(frozen=True)
class ApiPackage:
    """One proto package of the API (one API version), with everything it can reference."""

    package: str
    """e.g. ``google.ai.generativelanguage.v1beta``."""
    files: tuple[str, ...]
    """The proto files of the package, relative to the proto root."""
    services: tuple[Service, ...]
    messages: dict[str, Message] = field(default_factory=dict, hash=False, compare=True)
    """Every message the package's fields can reach, by full name (other packages included)."""
    enums: dict[str, EnumType] = field(default_factory=dict, hash=False, compare=True)
    service_config: str | None = None
    """The service-config JSON the policies came from, relative to the proto root."""

    @property
    def version(self) -> str:
        """The last package component (``v1beta``): the facade's folder name."""
        return self.package.rsplit(".", 1)[-1]

    def service(self, name: str) -> Service | None:
        """The service called ``name``, if the package has it."""
        return next((s for s in self.services if s.name == name), None)

    def message(self, full_name: str) -> Message:
        """The message ``full_name``; ``KeyError`` names it when missing."""
        try:
            return self.messages[full_name]
        except KeyError:
            raise KeyError(f"message {full_name} is not in the model") from None
