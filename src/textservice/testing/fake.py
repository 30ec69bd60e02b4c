"""``FakeServer`` (also ``FakeTextService``): the API's services, every generated version.

It serves TextService (GenerateText, EmbedText, BatchEmbedText, CountTextTokens),
GenerativeService (EmbedContent, BatchEmbedContents, CountTokens) and ModelService
(ListModels, GetModel) of each version that has them; every other RPC of those services
(GenerateContent, StreamGenerateContent, the tuned-model RPCs, ...) answers ``UNIMPLEMENTED``.

One object holds the state (configuration, request log, counters, fault rules) and serves
it in three ways, all sharing that state: in-memory channels (``channel()``,
``in_memory()``), a TCP listener on the current loop (``serve_async()``), and a TCP
listener on a background thread for synchronous code and other processes (``serve()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import socket
import threading
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Unpack

import grpclib.client
import grpclib.const
import grpclib.server
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.protocol import H2Protocol

from textservice._encoding.codec import Codec
from textservice._transport.callpath import API_KEY_HEADER
from textservice._transport.status import StatusDetailsCodec
from textservice.testing.answers import (
    ANSWERS,
    Context,
    ExtrasArgs,
    GenerateTextExtras,
    LongInputs,
    generation_methods,
    implemented_methods,
)
from textservice.testing.batch_mode import (
    BATCH_SECONDS,
    BatchMode,
    Step,
    error_response,
    is_media,
    is_upload_session,
)
from textservice.testing.catalogue import (
    DEFAULT_KNOWN_MODELS,
    CatalogueModel,
    ModelPolicy,
    check_dimension,
)
from textservice.testing.faults import FaultPlan
from textservice.testing.incoming import IncomingCall
from textservice.testing.log import RecordedCall, RequestLog
from textservice.testing.memory import MemoryChannel
from textservice.testing.quotas import QuotaLedger, Quotas, known_methods
from textservice.testing.rest import Response, RestFace, memory_transport
from textservice.testing.validation import validate
from textservice.testing.versions import ApiVersion, Service, api_versions
from textservice.testing.wire_check import wire_problem

if TYPE_CHECKING:
    import httpx

_logger = logging.getLogger(__name__)

DEFAULT_LOG_LIMIT = 10_000
"""Calls kept in the request log by default (counters count them all)."""

_THREAD_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerAddress:
    """Where a served fake listens."""

    host: str
    port: int

    @property
    def target(self) -> str:
        """``host:port``, as gRPC clients take it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return self.target


class RequestCodec(Codec):
    """The fake's codec: requests are checked strictly, bad bytes get ``INVALID_ARGUMENT``."""

    def decode(self, data: bytes, message_type: Any) -> Any:
        """Parse a request, or raise ``GRPCError(INVALID_ARGUMENT)`` saying what is wrong."""
        name = getattr(message_type, "__name__", "message")
        problem = wire_problem(data, message_type)
        if problem is not None:
            raise GRPCError(Status.INVALID_ARGUMENT, f"malformed {name}: {problem}")
        try:
            return super().decode(data, message_type)
        except Exception as exc:  # betterproto2 raises assorted errors on odd input
            raise GRPCError(Status.INVALID_ARGUMENT, f"malformed {name}: {exc}") from exc


async def _method_not_found(stream: grpclib.server.Stream[Any, Any]) -> None:
    raise GRPCError(Status.UNIMPLEMENTED, "Method not found")


_NOT_FOUND_HANDLER = grpclib.const.Handler(
    _method_not_found, grpclib.const.Cardinality.UNARY_UNARY, None, None
)


class _Routes(dict[str, grpclib.const.Handler]):
    """Routes whose lookup of an unknown path gives a handler answering UNIMPLEMENTED.

    grpclib answers an unknown path itself, without a ``content-type`` header, which its own
    client then reports as UNKNOWN ("Missing content-type header"); gRPC servers (and
    Google's) answer UNIMPLEMENTED in a normal gRPC response, which this gives.
    """

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key)
        return _NOT_FOUND_HANDLER if found is None else found


class _QuietTransport(asyncio.Transport):
    """A connection's transport that drops writes once it is closing.

    grpclib's server keeps sending a response whose client has gone: ``send_data`` writes
    frame after frame without yielding, so neither the lost connection nor the handler's
    cancellation stops it. Each of those writes to a dead socket is discarded by asyncio,
    which logs ``socket.send() raised exception.`` from the fifth on: 15-28 lines after one
    interrupted client. grpclib itself treats ``is_closing()`` as "send nothing more" (a
    stream's trailers are skipped then); this applies that to every write.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write, unless the connection is closing (then nobody can receive it)."""
        if not self._transport.is_closing():
            self._transport.write(data)

    def is_closing(self) -> bool:
        """Whether the connection is closing or closed."""
        return self._transport.is_closing()

    def close(self) -> None:
        """Close the connection."""
        self._transport.close()

    def abort(self) -> None:
        """Drop the connection at once (the ``drop_next`` fault)."""
        self._transport.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The wrapped transport's (peer name, TLS object, ...)."""
        return self._transport.get_extra_info(name, default)


class _QuietProtocol(asyncio.Protocol):
    """Hands grpclib's protocol a :class:`_QuietTransport` and passes everything else on."""

    def __init__(self, protocol: H2Protocol) -> None:
        self._protocol = protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Wrap the new connection's transport."""
        assert isinstance(transport, asyncio.Transport)
        self._protocol.connection_made(_QuietTransport(transport))

    def data_received(self, data: bytes) -> None:
        """Pass on."""
        self._protocol.data_received(data)

    def eof_received(self) -> bool | None:
        """Pass on."""
        return self._protocol.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """Pass on."""
        self._protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        """Pass on."""
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        """Pass on."""
        self._protocol.resume_writing()


class _Server(grpclib.server.Server):
    """A grpclib server that also closes its open connections when stopped, and sends
    nothing more on a connection once it is closing (see :class:`_QuietTransport`)."""

    def __init__(self, handlers: Sequence[Any]) -> None:
        super().__init__(handlers, codec=RequestCodec(), status_details_codec=StatusDetailsCodec())
        self._mapping = _Routes(self._mapping)
        self._connections: weakref.WeakSet[H2Protocol] = weakref.WeakSet()

    # Not an H2Protocol but a wrapper of one: asyncio's create_server (TCP) and
    # memory.connect (in-memory) only use it as an asyncio.Protocol.
    def _protocol_factory(self) -> _QuietProtocol:  # type: ignore[override]
        protocol = super()._protocol_factory()
        self._connections.add(protocol)
        return _QuietProtocol(protocol)

    def close_connections(self) -> None:
        for protocol in list(self._connections):
            processor = getattr(protocol, "processor", None)
            if processor is not None:
                processor.close("Server stopped")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


async def _receive(stream: grpclib.server.Stream[Any, Any]) -> Any:
    """The request message; what grpclib raises on bad framing becomes a gRPC status."""
    try:
        request = await stream.recv_message()
    except NotImplementedError as exc:  # grpclib: a message with the compressed flag set
        raise GRPCError(Status.UNIMPLEMENTED, f"request message: {exc}") from None
    except AssertionError:  # grpclib asserts the body is as long as its length prefix says
        raise GRPCError(
            Status.INVALID_ARGUMENT, "request message: shorter than its length prefix"
        ) from None
    if request is None:
        raise GRPCError(Status.INVALID_ARGUMENT, "the call carried no request message")
    return request


def _drop_connection(stream: grpclib.server.Stream[Any, Any]) -> None:
    # grpclib has no public "abort the connection"; its protocol stream holds the transport
    stream._stream._transport.abort()


class FakeServer:
    """A fake Generative Language API: TextService, GenerativeService and ModelService.

    It answers deterministically (``expected_embedding``, ``expected_content_embedding``,
    ``expected_completion``, ``expected_token_count``, the model catalogue), validates
    requests like the API, records every call (``calls``, ``count``) and fails on demand
    (``faults``). RPCs it does not implement answer ``UNIMPLEMENTED``.

    :param api_key: when set, calls must send it in ``x-goog-api-key`` (else UNAUTHENTICATED).
    :param known_models: the models served and listed: names (one of ``DEFAULT_CATALOGUE``
        takes its entry; any other serves every method, with 768-dimension embeddings) or
        ``CatalogueModel`` entries. Other models get NOT_FOUND; ``None`` serves any name.
    :param accept_tuned_models: also serve every ``tunedModels/…`` name.
    :param strict_methods: answer NOT_FOUND, as the API does, when a model's
        ``supported_generation_methods`` lack the RPC's (``embedding-gecko-001`` through
        EmbedContent, ``gemini-embedding-001`` through EmbedText). Default ``False``: every
        served model works through every RPC, so suites written for TextService keep working.
    :param embedding_dimension: length of every model's embeddings; ``None`` (default): each
        model's own (3,072 for ``gemini-embedding-001``, 768 for the others).
    :param strict_models: answer INVALID_ARGUMENT for what the API accepts and ignores for a
        model: the ``task_type`` and ``title`` fields sent to ``gemini-embedding-2`` (which
        takes the task in the text). Default ``False``: accepted and ignored, as the API does
        (the request log still shows them).
    :param versions: API versions to serve (default: all generated ones).
    :param log_limit: calls kept in the log (oldest dropped first); ``None``: no limit.
    :param quotas: per-minute and per-day quotas like the API's (``Quotas`` or a dict of its
        fields, see ``textservice.testing.quotas``); calls over them get RESOURCE_EXHAUSTED.
    :param batch_seconds: how long a Batch mode job runs before it succeeds (its knobs:
        ``batch_mode``, see ``textservice.testing.batch_mode``).
    :param long_inputs: what EmbedContent and BatchEmbedContents do with an input whose text
        holds more tokens (``expected_token_count``) than its model's profile allows
        (``input_tokens``: 2,048 for gemini-embedding-001, 8,192 for gemini-embedding-2):
        ``"truncate"`` (default) embeds its first tokens, silently, as the API does (the
        Gemini API has no option for it; Vertex AI's ``autoTruncate`` defaults to silent
        truncation); ``"reject"`` answers INVALID_ARGUMENT, as Vertex AI does with
        ``autoTruncate=false``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        known_models: Iterable[str | CatalogueModel] | None = DEFAULT_KNOWN_MODELS,
        accept_tuned_models: bool = True,
        strict_methods: bool = False,
        embedding_dimension: int | None = None,
        strict_models: bool = False,
        versions: Iterable[str] | None = None,
        log_limit: int | None = DEFAULT_LOG_LIMIT,
        quotas: Quotas | Mapping[str, Any] | None = None,
        long_inputs: LongInputs = "truncate",
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        if long_inputs not in ("truncate", "reject"):
            raise ValueError(f"long_inputs must be 'truncate' or 'reject', got {long_inputs!r}")
        self.long_inputs: LongInputs = long_inputs
        """What an embedding input over its model's token limit gets (see above)."""
        if api_key is not None and (not isinstance(api_key, str) or not api_key):
            raise ValueError("api_key must be a non-empty str or None")
        self._api_key = api_key
        self._models = ModelPolicy.of(
            known_models,
            bool(accept_tuned_models),
            strict_methods=strict_methods,
            embedding_dimension=embedding_dimension,
            strict_models=strict_models,
        )
        self._versions = self._pick_versions(versions)
        self._methods = implemented_methods(self._versions)
        self._generation_methods = generation_methods(self._versions)
        self._extras = GenerateTextExtras()
        self.faults = FaultPlan(self._methods)
        """Fault rules: ``fail_next``, ``fail_fraction``, ``delay``, ``drop_next``."""
        self.log = RequestLog(log_limit)
        """Every call received, with counters."""
        self.count = self.log.count
        """``count(method=None, *, version=None, status=None)``: calls received (of
        ``method``/``version``), or those that ended with ``status`` (``RequestLog.count``)."""
        self._quotas = self._pick_quotas(quotas)
        self._rest_face: RestFace | None = None
        if batch_seconds < 0:
            raise ValueError(f"batch_seconds must be >= 0, got {batch_seconds}")
        self.batch_mode = BatchMode(self._answer_line, seconds=batch_seconds)
        """Batch mode and the Files API (REST face): jobs, files, and their test knobs."""

    @staticmethod
    def _pick_versions(names: Iterable[str] | None) -> tuple[ApiVersion, ...]:
        available = api_versions()
        if names is None:
            return available
        if isinstance(names, str):
            names = [names]
        wanted = list(names)
        known = {v.name: v for v in available}
        for name in wanted:
            if name not in known:
                raise ValueError(f"versions: unknown API version {name!r}; known: {sorted(known)}")
        return tuple(known[name] for name in sorted(set(wanted)))

    def _pick_quotas(self, value: Quotas | Mapping[str, Any] | None) -> QuotaLedger | None:
        quotas = Quotas.of(value)
        if quotas is None:
            return None
        known_methods(self._methods, quotas)
        return QuotaLedger(quotas)

    # -- configuration -------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The API key calls must send, if any."""
        return self._api_key

    @property
    def embedding_dimension(self) -> int | None:
        """The length set for every model's embeddings (``None``: each model's own, see
        ``dimension_of``). Setting it changes the answers from the next call on (a server
        whose vectors change length midway, say)."""
        return self._models.embedding_dimension

    @embedding_dimension.setter
    def embedding_dimension(self, value: int | None) -> None:
        if value is not None:
            check_dimension(value, "embedding_dimension")
        self._models = dataclasses.replace(self._models, embedding_dimension=value)

    def dimension_of(self, model: str) -> int:
        """Length of the embeddings this fake returns for ``model``."""
        return self._models.dimension_of(model)

    @property
    def models(self) -> ModelPolicy:
        """The models served (``models.listed()``: what ListModels answers) and how."""
        return self._models

    @property
    def strict_models(self) -> bool:
        """Whether fields a model ignores (task type and title to ``gemini-embedding-2``)
        are refused."""
        return self._models.strict_models

    @property
    def strict_methods(self) -> bool:
        """Whether a model is refused (NOT_FOUND) by an RPC its catalogue entry does not list."""
        return self._models.strict_methods

    @property
    def methods(self) -> tuple[str, ...]:
        """The RPCs this fake answers (in some served version); others are UNIMPLEMENTED."""
        return self._methods

    @property
    def quotas(self) -> QuotaLedger | None:
        """The quotas enforced, with their counts (``accepted()``, ``rejected()``), or ``None``."""
        return self._quotas

    @property
    def versions(self) -> tuple[str, ...]:
        """Names of the API versions served."""
        return tuple(v.name for v in self._versions)

    @property
    def services(self) -> tuple[str, ...]:
        """Full names of the services served (``google.ai.generativelanguage.v1.ModelService``)."""
        return tuple(s.full_name for v in self._versions for s in v.services)

    def set_generate_text_extras(self, **extras: Unpack[ExtrasArgs]) -> None:
        """Make GenerateText also return these (see ``GenerateTextExtras``); call with no
        arguments to return plain completions again.

        Example: ``fake.set_generate_text_extras(filters=[{"reason": "SAFETY"}], blocked=True)``.
        """
        self._extras = GenerateTextExtras.of(**extras)

    def reset(self) -> None:
        """Forget calls and counters (quota use too), remove fault rules and GenerateText
        extras."""
        self.log.clear()
        if self._quotas is not None:
            self._quotas.reset()
        self.faults.clear()
        self._extras = GenerateTextExtras()

    # -- observations --------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Calls received, oldest first."""
        return self.log.calls

    # -- serving ----------------------------------------------------------------------------

    def servables(self) -> list[Any]:
        """One grpclib service object per service of each version (subclasses of the
        generated bases)."""
        return [
            self._servable(version, service)
            for version in self._versions
            for service in version.services
        ]

    def _servable(self, version: ApiVersion, service: Service) -> Any:
        base = version.message(f"{service.name}Base")
        handle = self._handle

        def __mapping__(_self: Any) -> dict[str, grpclib.const.Handler]:
            routes = {}
            for route, handler in service.handlers:
                method = route.rsplit("/", 1)[1]
                routes[route] = grpclib.const.Handler(
                    partial(handle, version, service, method),
                    handler.cardinality,
                    handler.request_type,
                    handler.reply_type,
                )
            return routes

        fake_class = type(
            f"Fake{base.__name__}",
            (base,),
            {"__mapping__": __mapping__, "__module__": __name__},
        )
        return fake_class()

    def make_server(self) -> grpclib.server.Server:
        """A grpclib ``Server`` (not started) answering with this fake, on the current loop."""
        return _Server(self.servables())

    def channel(self) -> grpclib.client.Channel:
        """A new in-memory grpclib ``Channel`` to this fake, on the running event loop.

        Call it inside a running loop; close the channel when done. Every channel (on any
        loop or thread) shares this fake's log, counters and faults. The channel uses the
        package's codecs (fast embeddings, ``google.rpc`` status details).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "FakeServer.channel() must be called inside a running event loop"
            ) from None
        return MemoryChannel(self.make_server)

    @asynccontextmanager
    async def in_memory(self) -> AsyncIterator[grpclib.client.Channel]:
        """``async with fake.in_memory() as channel:`` a connected in-memory channel."""
        channel = self.channel()
        try:
            yield channel
        finally:
            channel.close()

    @asynccontextmanager
    async def serve_async(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> AsyncIterator[ServerAddress]:
        """Listen on ``host:port`` (``0``: a free port) on the running loop while inside."""
        server = _Server(self.servables())
        sock = _listening_socket(host, port)
        try:
            await server.start(sock=sock)
        except BaseException:
            sock.close()
            raise
        address = ServerAddress(host, sock.getsockname()[1])
        try:
            yield address
        finally:
            server.close()
            server.close_connections()
            await server.wait_closed()

    def serve(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> contextlib.AbstractContextManager[ServerAddress]:
        """Listen on ``host:port`` (``0``: a free port) from a background thread while inside.

        Works from synchronous code (and inside a running loop, which it does not block).
        """
        return _in_thread(self.serve_async, host, port)

    # -- the REST face ----------------------------------------------------------------------

    def rest_face(self) -> RestFace:
        """The REST face (HTTP/JSON routes of every served version) answering with this fake."""
        face = self._rest_face
        if face is None:
            face = self._rest_face = RestFace(self, self._versions)
        return face

    def http_transport(self) -> httpx.AsyncBaseTransport:
        """An in-process ``httpx.AsyncBaseTransport`` to this fake's REST face (no socket):
        ``Client(transport="rest", channel_factory=fake.http_transport)``. Like ``channel()``,
        every transport shares this fake's log, counters, quotas and faults."""
        return memory_transport(self.rest_face)

    @asynccontextmanager
    async def serve_rest_async(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> AsyncIterator[ServerAddress]:
        """Serve the REST face (HTTP/1.1) on ``host:port`` (``0``: a free port) on the running
        loop while inside."""
        from textservice.testing.http_server import serve_http

        async with serve_http(self.rest_face().handle, host, port) as bound:
            yield ServerAddress(host, bound)

    def serve_rest(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> contextlib.AbstractContextManager[ServerAddress]:
        """``serve_rest_async`` from a background thread while inside (sync code, other
        processes: ``http://{address.target}``, google-genai's ``base_url``)."""
        return _in_thread(self.serve_rest_async, host, port)

    # -- one call ---------------------------------------------------------------------------

    def _check_api_key(self, metadata: Iterable[tuple[str, Any]]) -> None:
        if self._api_key is None:
            return
        sent = [value for key, value in metadata if key.lower() == API_KEY_HEADER]
        if not sent:
            raise GRPCError(
                Status.UNAUTHENTICATED,
                f"missing API key: send it in the {API_KEY_HEADER} metadata",
            )
        expected = self._api_key.encode("utf-8")
        for value in sent:
            got = value.encode("utf-8") if isinstance(value, str) else value
            if hmac.compare_digest(got, expected):
                return
        raise GRPCError(Status.UNAUTHENTICATED, "API key not valid. Please pass a valid API key.")

    def _answer(self, version: ApiVersion, service: Service, method: str, request: Any) -> Any:
        context = Context(
            self._models,
            self._extras,
            self._generation_methods,
            self.long_inputs,
            self.batch_mode,
        )
        return ANSWERS[service.name, method](context, version, request)

    def _answer_line(self, version: ApiVersion, request: Any) -> Any:
        """One Batch mode line, checked and answered as an EmbedContent call would be: its
        response, or the ``GRPCError`` the call would get."""
        service = version.service("GenerativeService")
        if service is None:
            return GRPCError(Status.UNIMPLEMENTED, f"{version.name} has no GenerativeService")
        try:
            validate(service, "EmbedContent", request, self._models)
            return self._answer(version, service, "EmbedContent", request)
        except GRPCError as exc:
            return exc

    async def _handle(
        self,
        version: ApiVersion,
        service: Service,
        method: str,
        stream: grpclib.server.Stream[Any, Any],
    ) -> None:
        """One gRPC call."""
        deadline = stream.deadline
        incoming = IncomingCall(
            version,
            service,
            method,
            list(stream.metadata.items()) if stream.metadata is not None else [],
            deadline.time_remaining() if deadline is not None else None,
            read=partial(_receive, stream),
            send=stream.send_message,
            drop=partial(_drop_connection, stream),
            expired=lambda: deadline is not None and deadline.time_remaining() <= 0,
        )
        await self.serve_call(incoming)

    async def serve_call(self, incoming: IncomingCall) -> None:
        """One call, whatever face it came through (gRPC, REST): an RPC the fake does not
        implement gets ``UNIMPLEMENTED`` at once (its request unread); any other call's
        request is read, and the call logged, the key checked, quotas and faults applied, the
        request validated and answered by ``incoming.send``. Failures (a request that cannot
        be read included) are logged and raise ``GRPCError``, which the face turns into its
        own error form."""
        version, service, method = incoming.version, incoming.service, incoming.method
        if (service.name, method) not in ANSWERS:
            message = f"{service.name}.{method} is not implemented by the fake"
            self.log.finish(self._arrived(incoming, None), Status.UNIMPLEMENTED, message)
            raise GRPCError(Status.UNIMPLEMENTED, message)
        try:
            request = await incoming.read()
        except GRPCError as exc:  # logged without a request
            self.log.finish(self._arrived(incoming, None), exc.status, exc.message)
            raise
        call = self._arrived(incoming, request)
        try:
            self._check_api_key(incoming.metadata)
            if self._quotas is not None:  # on arrival: an over-quota answer comes at once
                over_quota = self._quotas.check(method, request)
                if over_quota is not None:
                    raise over_quota
            injection = self.faults.draw(method)
            if injection.delay:
                await asyncio.sleep(injection.delay)
            if injection.drop:
                self.log.finish(call, None, "connection dropped by a fault", dropped=True)
                incoming.drop()
                return
            if injection.error is not None:
                raise injection.error
            if method == "AsyncBatchEmbedContent":
                self.batch_mode.fill_models(request)
            validate(service, method, request, self._models)
            answer = self._answer(version, service, method, request)
            self.faults.spoil(method, request, answer)
            if method in _PAUSED_STEPS:
                await self.batch_mode.pause_point(_PAUSED_STEPS[method])
            await incoming.send(answer)
        except GRPCError as exc:
            self.log.finish(call, exc.status, exc.message)
            raise
        except (TimeoutError, asyncio.CancelledError):
            expired = incoming.expired()
            self.log.finish(call, Status.DEADLINE_EXCEEDED if expired else Status.CANCELLED)
            raise
        except Exception as exc:  # a bug of the fake (or of a version it cannot serve)
            message = f"the fake failed to answer {service.name}.{method}: {exc!r}"
            _logger.exception("%s", message)
            self.log.finish(call, Status.INTERNAL, message)
            raise GRPCError(Status.INTERNAL, message) from exc
        else:
            self.log.finish(call, Status.OK)

    def _arrived(self, incoming: IncomingCall, request: Any) -> RecordedCall:
        """Log ``incoming``'s arrival, with its ``request`` (``None``: not read)."""
        return self.log.start(
            incoming.version.name,
            incoming.method,
            request,
            incoming.metadata,
            incoming.timeout,
            service=incoming.service.name,
        )

    async def serve_media(
        self, verb: str, path: str, query: str, metadata: list[tuple[str, Any]], body: bytes
    ) -> Response | None:
        """An upload or download of the Files API (REST), or ``None`` when the request is not
        one: logged (``UploadFile``/``DownloadFile``), the key checked (but on an upload
        session's own URL), answered by ``batch_mode``."""
        if not is_media(verb, path, query):
            return None
        parts = path.removeprefix("/upload").removeprefix("/download").split("/")
        version = next((v for v in self._versions if len(parts) > 1 and v.name == parts[1]), None)
        method = "UploadFile" if path.startswith("/upload/") else "DownloadFile"
        if version is None or version.service("FileService") is None:
            return None
        call = self.log.start(version.name, method, None, metadata, service="FileService")
        try:
            if not is_upload_session(path, query):
                self._check_api_key(metadata)
            answer = await self.batch_mode.media(version, verb, path, query, metadata, body)
        except GRPCError as exc:
            self.log.finish(call, exc.status, exc.message)
            return error_response(exc)
        except (TimeoutError, asyncio.CancelledError):
            self.log.finish(call, Status.CANCELLED)
            raise
        self.log.finish(call, Status.OK)
        return answer

    def __repr__(self) -> str:
        key = "'<redacted>'" if self._api_key is not None else "None"
        return (
            f"FakeServer(versions={self.versions!r}, api_key={key}, "
            f"embedding_dimension={self.embedding_dimension}, "
            f"strict_methods={self.strict_methods}, calls={self.count()})"
        )


_PAUSED_STEPS: Mapping[str, Step] = {"AsyncBatchEmbedContent": "create", "GetBatch": "get"}
"""The RPCs a test can hold (``batch_mode.pause``) after the answer is made, before it is sent."""

FakeTextService = FakeServer
"""The name ``FakeServer`` had when it served TextService alone; both work."""


@contextmanager
def _in_thread(
    serve: Callable[[str, int], contextlib.AbstractAsyncContextManager[ServerAddress]],
    host: str,
    port: int,
) -> Iterator[ServerAddress]:
    """``serve(host, port)`` (``serve_async``, ``serve_rest_async``) on an event loop in a
    daemon thread while inside."""
    runner = _ThreadedServer(serve, host, port)
    address = runner.start()
    try:
        yield address
    finally:
        runner.stop()


class _ThreadedServer:
    """Runs a ``serve_async``-like context manager on an event loop in a daemon thread."""

    def __init__(
        self,
        serve: Callable[[str, int], contextlib.AbstractAsyncContextManager[ServerAddress]],
        host: str,
        port: int,
    ) -> None:
        self._serve = serve
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._address: ServerAddress | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="textservice-fake", daemon=True)

    def start(self) -> ServerAddress:
        self._thread.start()
        if not self._ready.wait(_THREAD_START_TIMEOUT):
            raise RuntimeError("the fake's server thread did not start")
        if self._error is not None:
            raise self._error
        assert self._address is not None
        return self._address

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); nothing else can see it
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._serve(self._host, self._port) as address:
            self._address = address
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(_THREAD_START_TIMEOUT)
