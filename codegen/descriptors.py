"""The API model (``codegen.model``) from a ``FileDescriptorSet``: the one place options are read.

``google.api.client_pb2``, ``field_behavior_pb2`` and ``annotations_pb2`` are imported before
parsing so their extensions (``method_signature``, ``field_behavior``, ``http``) are decoded
rather than kept unknown.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from google.api import annotations_pb2, client_pb2, field_behavior_pb2, http_pb2
from google.protobuf import descriptor_pb2

from codegen.errors import CodegenError
from codegen.model import (
    ApiPackage,
    Behavior,
    EnumType,
    EnumValue,
    Field,
    HttpRule,
    Kind,
    Message,
    Method,
    MethodPolicy,
    Service,
)
from codegen.names import python_class_name, python_field_name
from codegen.service_config import CONFIG_NAME, ServiceConfig, load_service_config

FDP = descriptor_pb2.FieldDescriptorProto

_KINDS: dict[int, Kind] = {
    FDP.TYPE_DOUBLE: Kind.DOUBLE,
    FDP.TYPE_FLOAT: Kind.FLOAT,
    FDP.TYPE_INT32: Kind.INT32,
    FDP.TYPE_INT64: Kind.INT64,
    FDP.TYPE_UINT32: Kind.UINT32,
    FDP.TYPE_UINT64: Kind.UINT64,
    FDP.TYPE_SINT32: Kind.SINT32,
    FDP.TYPE_SINT64: Kind.SINT64,
    FDP.TYPE_FIXED32: Kind.FIXED32,
    FDP.TYPE_FIXED64: Kind.FIXED64,
    FDP.TYPE_SFIXED32: Kind.SFIXED32,
    FDP.TYPE_SFIXED64: Kind.SFIXED64,
    FDP.TYPE_BOOL: Kind.BOOL,
    FDP.TYPE_STRING: Kind.STRING,
    FDP.TYPE_BYTES: Kind.BYTES,
    FDP.TYPE_ENUM: Kind.ENUM,
    FDP.TYPE_MESSAGE: Kind.MESSAGE,
}

# FileDescriptorProto / DescriptorProto / ServiceDescriptorProto field numbers, for the paths
# of SourceCodeInfo locations (see descriptor.proto).
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_SERVICE_METHOD = 2
_ENUM_VALUE = 2


def clean_comment(text: str) -> str:
    """A proto comment as plain text: common indentation removed, blank ends stripped."""
    lines = [line.rstrip() for line in text.split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


class _Comments:
    """Leading (else trailing) comments of one file, by SourceCodeInfo path."""

    def __init__(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        self._by_path: dict[tuple[int, ...], str] = {}
        for location in proto.source_code_info.location:
            text = location.leading_comments or location.trailing_comments
            if text:
                self._by_path[tuple(location.path)] = clean_comment(text)

    def at(self, *path: int) -> str:
        return self._by_path.get(path, "")


def _behaviors(options: descriptor_pb2.FieldOptions) -> frozenset[Behavior]:
    names = {field_behavior_pb2.FieldBehavior.Name(v) for v in options.Extensions[_FIELD_BEHAVIOR]}
    return frozenset(b for b in Behavior if b.value in names)


_FIELD_BEHAVIOR = field_behavior_pb2.field_behavior
_METHOD_SIGNATURE = client_pb2.method_signature
_HTTP = annotations_pb2.http
_HTTP_VERBS = ("get", "put", "post", "delete", "patch")


def _http_binding(rule: http_pb2.HttpRule) -> HttpRule:
    """One binding of a ``google.api.http`` rule (``pattern`` is a oneof of the verbs and
    ``custom``)."""
    kind = rule.WhichOneof("pattern")
    if kind in _HTTP_VERBS:
        return HttpRule(kind.upper(), getattr(rule, kind), rule.body)
    if kind == "custom":
        return HttpRule(rule.custom.kind.upper(), rule.custom.path, rule.body)
    raise CodegenError(f"a google.api.http rule without a pattern: {rule}")


def _http_rules(options: descriptor_pb2.MethodOptions) -> tuple[HttpRule, ...]:
    """A method's ``google.api.http`` rule, then its ``additional_bindings`` (none: ``()``)."""
    if not options.HasExtension(_HTTP):
        return ()
    rule = options.Extensions[_HTTP]
    return (_http_binding(rule), *(_http_binding(extra) for extra in rule.additional_bindings))


def _type_name(raw: str) -> str:
    return raw[1:] if raw.startswith(".") else raw


def walk_messages(
    messages: Sequence[descriptor_pb2.DescriptorProto],
    scope: str,
    prefix: str,
    path: tuple[int, ...],
) -> Iterator[tuple[descriptor_pb2.DescriptorProto, str, str, tuple[int, ...]]]:
    """(message, full name, betterproto2 prefixed name, source path), nested ones included."""
    for index, message in enumerate(messages):
        full = f"{scope}.{message.name}" if scope else message.name
        prefixed = f"{prefix}.{message.name}" if prefix else message.name
        here = (*path, index)
        yield message, full, prefixed, here
        yield from walk_messages(message.nested_type, full, prefixed, (*here, _MESSAGE_NESTED))


class _Reader:
    """Reads every file of a descriptor set into messages, enums and services."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, EnumType] = {}
        self.map_entries: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.files = list(files)
        for proto in self.files:
            for message, full, _, _ in walk_messages(proto.message_type, proto.package, "", ()):
                if message.options.map_entry:
                    self.map_entries[full] = message
        for proto in self.files:
            comments = _Comments(proto)
            package = proto.package
            for index, enum in enumerate(proto.enum_type):
                self._enum(enum, package, enum.name, proto, comments, (_FILE_ENUM, index))
            for message, full, prefixed, path in walk_messages(
                proto.message_type, package, "", (_FILE_MESSAGE,)
            ):
                if message.options.map_entry:
                    continue
                for index, enum in enumerate(message.enum_type):
                    self._enum(
                        enum,
                        full,
                        f"{prefixed}.{enum.name}",
                        proto,
                        comments,
                        (*path, _MESSAGE_ENUM, index),
                    )
                self.messages[full] = Message(
                    full_name=full,
                    python_name=python_class_name(prefixed),
                    package=package,
                    fields=tuple(
                        self._field(f, message, comments.at(*path, _MESSAGE_FIELD, i))
                        for i, f in enumerate(message.field)
                    ),
                    comment=comments.at(*path),
                    file=proto.name,
                    deprecated=message.options.deprecated,
                )

    def _enum(
        self,
        enum: descriptor_pb2.EnumDescriptorProto,
        scope: str,
        prefixed: str,
        proto: descriptor_pb2.FileDescriptorProto,
        comments: _Comments,
        path: tuple[int, ...],
    ) -> None:
        full = f"{scope}.{enum.name}"
        self.enums[full] = EnumType(
            full_name=full,
            python_name=python_class_name(prefixed),
            package=proto.package,
            comment=comments.at(*path),
            values=tuple(
                EnumValue(
                    name=value.name,
                    number=value.number,
                    comment=comments.at(*path, _ENUM_VALUE, index),
                    deprecated=value.options.deprecated,
                )
                for index, value in enumerate(enum.value)
            ),
            file=proto.name,
            deprecated=enum.options.deprecated,
        )

    def _field(
        self,
        proto: descriptor_pb2.FieldDescriptorProto,
        owner: descriptor_pb2.DescriptorProto,
        comment: str,
    ) -> Field:
        kind = _KINDS.get(proto.type)
        if kind is None:
            raise CodegenError(f"field {owner.name}.{proto.name}: unsupported type {proto.type}")
        repeated = proto.label == FDP.LABEL_REPEATED
        type_name = _type_name(proto.type_name) or None
        map_key: Kind | None = None
        map_value: Field | None = None
        if kind is Kind.MESSAGE and repeated and type_name in self.map_entries:
            entry = self.map_entries[type_name]  # type_name is set: it is in map_entries
            key, value = entry.field[0], entry.field[1]
            kind, repeated = Kind.MAP, False
            map_key = _KINDS[key.type]
            map_value = self._field(value, entry, "")
            type_name = None
        in_oneof = proto.HasField("oneof_index") and not proto.proto3_optional
        oneof = owner.oneof_decl[proto.oneof_index].name if in_oneof else None
        return Field(
            name=proto.name,
            python_name=python_field_name(proto.name),
            number=proto.number,
            kind=kind,
            repeated=repeated,
            proto3_optional=proto.proto3_optional,
            in_oneof=in_oneof,
            type_name=type_name,
            map_key=map_key,
            map_value=map_value,
            behaviors=_behaviors(proto.options),
            comment=comment,
            oneof=oneof,
            deprecated=proto.options.deprecated,
        )


def _services(
    proto: descriptor_pb2.FileDescriptorProto, config: ServiceConfig | None
) -> list[Service]:
    comments = _Comments(proto)
    services = []
    for s_index, service in enumerate(proto.service):
        full = f"{proto.package}.{service.name}"
        methods = []
        for m_index, method in enumerate(service.method):
            signatures = tuple(
                tuple(name.strip() for name in signature.split(",") if name.strip())
                for signature in method.options.Extensions[_METHOD_SIGNATURE]
            )
            methods.append(
                Method(
                    name=method.name,
                    input_type=_type_name(method.input_type),
                    output_type=_type_name(method.output_type),
                    signatures=signatures,
                    comment=comments.at(_FILE_SERVICE, s_index, _SERVICE_METHOD, m_index),
                    policy=config.policy(full, method.name) if config else MethodPolicy(),
                    client_streaming=method.client_streaming,
                    server_streaming=method.server_streaming,
                    deprecated=method.options.deprecated,
                    http=_http_rules(method.options),
                )
            )
        services.append(
            Service(
                name=service.name,
                full_name=full,
                methods=tuple(methods),
                comment=comments.at(_FILE_SERVICE, s_index),
                file=proto.name,
                deprecated=service.options.deprecated,
            )
        )
    return services


def _reachable(
    package_files: list[descriptor_pb2.FileDescriptorProto], reader: _Reader
) -> set[str]:
    """Full names of every message reachable from the package's own messages and services."""
    seen: set[str] = set()
    todo = [
        full
        for proto in package_files
        for _, full, _, _ in walk_messages(proto.message_type, proto.package, "", ())
        if full in reader.messages
    ]
    todo += [
        _type_name(t)
        for proto in package_files
        for service in proto.service
        for method in service.method
        for t in (method.input_type, method.output_type)
    ]
    while todo:
        name = todo.pop()
        if name in seen or name not in reader.messages:
            continue
        seen.add(name)
        for f in reader.messages[name].fields:
            nested = f.map_value if f.kind is Kind.MAP else f
            if nested is not None and nested.type_name:
                todo.append(nested.type_name)
    return seen


def load_packages(
    descriptor_set: bytes, protos: Path, api_files: Iterable[str]
) -> list[ApiPackage]:
    """The API packages defined by ``api_files`` (paths relative to ``protos``), sorted by name.

    Each package's services get the policies of the ``generativeai_grpc_service_config.json``
    beside its files, when there is one.
    """
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    reader = _Reader(fds.file)
    wanted = set(api_files)
    by_package: dict[str, list[descriptor_pb2.FileDescriptorProto]] = {}
    for proto in fds.file:
        if proto.name in wanted:
            by_package.setdefault(proto.package, []).append(proto)
    packages = []
    for package, files in sorted(by_package.items()):
        folders = sorted({str(Path(f.name).parent) for f in files})
        config_rel: str | None = None
        config: ServiceConfig | None = None
        for folder in folders:
            candidate = Path(folder) / CONFIG_NAME
            if (protos / candidate).is_file():
                config_rel = candidate.as_posix()
                config = load_service_config(protos / candidate, config_rel)
                break
        reachable = _reachable(files, reader)
        enums = {
            f.type_name: reader.enums[f.type_name]
            for name in reachable
            for f in reader.messages[name].fields
            if f.kind is Kind.ENUM and f.type_name in reader.enums
        }
        enums.update(
            (f.map_value.type_name, reader.enums[f.map_value.type_name])
            for name in reachable
            for f in reader.messages[name].fields
            if f.map_value is not None
            and f.map_value.kind is Kind.ENUM
            and f.map_value.type_name in reader.enums
        )
        packages.append(
            ApiPackage(
                package=package,
                files=tuple(sorted(f.name for f in files)),
                services=tuple(s for f in files for s in _services(f, config)),
                messages={name: reader.messages[name] for name in sorted(reachable)},
                enums=dict(sorted(enums.items())),
                service_config=config_rel,
            )
        )
    return packages
