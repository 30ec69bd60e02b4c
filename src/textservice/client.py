"""``Client`` (also ``TextServiceClient``): connection settings, the API key, the default client.

One client serves sync and async calls from any thread: async calls use a channel on the
caller's event loop, sync calls run on the client's own background loop thread. The client
owns one call path (``textservice._transport.callpath``): its channels, metadata, that
thread, the resolution of each call's options, and the rate governor that every call
through the client shares (``textservice._governor``: quotas). Close it with ``close()`` / ``await
aclose()`` or use it as a (sync or async) context manager; the default client
(``configure``) is closed at interpreter exit.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import EllipsisType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeAlias, TypedDict, cast

from textservice._checks import check_count, check_positive, check_seconds
from textservice._lazy import lazy_attributes
from textservice.errors import MissingAPIKeyError
from textservice.retry import Retry

# The call path, channels, secrets and rate governor (asyncio, ssl, grpclib, betterproto2)
# are imported when a client is made, not by ``import textservice`` (issue 21: import time).
if TYPE_CHECKING:
    import httpx
    from grpclib.client import Channel

    from textservice._governor import GovernorSettings, QuotaKey, QuotaKeyStats, QuotaStats
    from textservice._transport.callpath import API_KEY_HEADER, ClientCallPath
    from textservice._transport.channels import Endpoint
    from textservice._transport.connection import Connection

__all__ = [
    "API_KEY_ENV",
    "API_KEY_HEADER",
    "ENDPOINT_ENV",
    "TRANSPORTS",
    "Client",
    "ClientOptions",
    "QuotaKey",
    "QuotaKeyStats",
    "QuotaStats",
    "TextServiceClient",
    "call_path",
    "configure",
    "get_default_client",
]

API_KEY_ENV = "GOOGLE_API_KEY"
"""The environment variable a client reads its API key from when given none."""

ENDPOINT_ENV = "TEXTSERVICE_ENDPOINT"
"""The environment variable a client reads its server from when given no ``endpoint`` (and no
``channel_factory``), so unchanged code can be pointed at a fake server or a proxy:
``http://host:port`` (plaintext), ``https://host:port`` (TLS) or ``host:port`` (TLS unless
``insecure=True``)."""

MetadataLike = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes]]

P = ParamSpec("P")

Transport = Literal["grpc", "rest"]
TRANSPORTS: tuple[Transport, ...] = ("grpc", "rest")
"""The client's transports: gRPC (grpclib, HTTP/2) and REST (httpx, HTTP/1.1 or HTTP/2 with
JSON), each RPC's path and body from its ``google.api.http`` rule."""


def _server(
    endpoint: str | None, insecure: bool, channel_factory: object
) -> tuple[Endpoint, bool, str]:
    """Where a client connects, whether in plaintext, and a note on where that came from for
    messages: ``endpoint`` if given, else ``ENDPOINT_ENV``, else Google's endpoint over TLS.
    Both are written alike: a scheme decides plaintext (``http://``) or TLS (``https://``);
    without one, ``insecure`` does."""
    from textservice._transport.channels import DEFAULT_ENDPOINT, parse_endpoint, parse_endpoint_url

    if endpoint is None and channel_factory is not None:
        return parse_endpoint(DEFAULT_ENDPOINT), insecure, ""
    if endpoint is not None:
        value, where, origin = endpoint, "endpoint", ""
    else:
        value = os.environ.get(ENDPOINT_ENV, "").strip()
        if not value:
            return parse_endpoint(DEFAULT_ENDPOINT), insecure, ""
        where = f"the {ENDPOINT_ENV} environment variable"
        origin = f" (from the {ENDPOINT_ENV} environment variable)"
    try:
        parsed, plaintext = parse_endpoint_url(value)
    except ValueError as exc:
        if endpoint is not None:
            raise
        raise ValueError(f"{where}: {exc}") from None
    if plaintext is False and insecure:
        raise ValueError(
            f"{where} asks for TLS ({value!r}) and insecure=True for none: drop one of them"
        )
    return parsed, insecure or bool(plaintext), origin


def _governor_settings(
    max_concurrency: int,
    requests_per_minute: object,
    texts_per_minute: object,
    tokens_per_minute: object,
    quota_share: object,
    quota_time_scale: object,
) -> GovernorSettings:
    """The governor's settings from the client's options, each checked under its own name."""
    from textservice._governor import GovernorSettings

    def limit(value: object, name: str) -> float | None:
        return None if value is None else check_positive(value, name)

    scale = check_positive(quota_time_scale, "quota_time_scale")
    minute = 60.0 / scale
    return GovernorSettings(
        max_concurrency=max_concurrency,
        requests_per_minute=limit(requests_per_minute, "requests_per_minute"),
        texts_per_minute=limit(texts_per_minute, "texts_per_minute"),
        tokens_per_minute=limit(tokens_per_minute, "tokens_per_minute"),
        share=check_positive(quota_share, "quota_share", high=1.0),
        # a faster quota clock (a fake's) shortens the minute and the first backoff alike...
        minute=minute,
        backoff=1.0 / scale,
        # ...but not the time a request takes to reach the server, which the margin covers:
        # 1 % of a minute (0.6 s of the API's), and never under 50 ms
        margin=max(GovernorSettings.margin, 0.05 / minute),
    )


class Client:
    """A connection to the Generative Language API, usable from sync and async code and any
    thread: one client serves every service and API version (TextService, GenerativeService,
    ModelService...). ``TextServiceClient`` is the same class under its former name.

    Args:
        api_key: The API key; defaults to the ``GOOGLE_API_KEY`` environment variable. Sent
            as ``x-goog-api-key`` metadata with every call.
        endpoint: ``"host:port"``; defaults to the ``TEXTSERVICE_ENDPOINT`` environment
            variable (``http://host:port`` for plaintext, ``https://host:port`` or
            ``host:port`` for TLS), else ``generativelanguage.googleapis.com:443``.
        transport: ``"grpc"`` (default: grpclib, HTTP/2) or ``"rest"`` (httpx, JSON over
            HTTP/1.1, for networks that pass nothing else); both send the same RPCs with the
            same retries, quotas, deadlines and typed errors.
        http2: With ``transport="rest"``, offer HTTP/2 (over TLS, by ALPN).
        insecure: Connect without TLS (``http://``, plaintext HTTP/2 for gRPC), e.g. to
            ``"127.0.0.1:PORT"``.
        metadata: Extra metadata sent with every call (a mapping or ``(key, value)`` pairs;
            HTTP headers over REST); merged with the API key, which it may not set.
        timeout: Seconds bounding each call made through this client (retries and all
            batches included); ``None`` uses each method's default (60 s per RPC).
        retry: Retry policy for every call; ``None`` disables retries; by default each
            method's policy from the service config.
        max_concurrency: RPCs in flight at once per method and model, shared by every call
            through this client (a list's batches, threads, tasks); lowered while the server
            answers RESOURCE_EXHAUSTED, raised back as calls succeed.
        channel_factory: Makes the grpclib ``Channel`` (``transport="rest"``: the
            ``httpx.AsyncBaseTransport``) to use instead of a TCP connection; called on each
            event loop that needs one (the fake server provides both: ``channel``,
            ``http_transport``).
        allow_plaintext_key: Send the API key over plaintext to a host that is not this
            machine (refused otherwise).
        requests_per_minute: Client-side limit of calls per minute, per method and model
            (``None``: none; the limit a quota error names is learned anyway).
        texts_per_minute: Client-side limit of texts per minute, per method and model.
        tokens_per_minute: Client-side limit of input tokens per minute, per method and
            model; a text counts ``ceil(UTF-8 bytes / 4)`` tokens.
        quota_share: The fraction (0 to 1] of every limit this client takes, given or
            learned: ``0.25`` for one of four machines sharing a project's quota.
        quota_time_scale: How many times faster than real time the server's quota clock
            runs: 1 for the API; ``N`` against ``textservice fake-server --time-scale N``.

    Raises:
        MissingAPIKeyError: No API key and the endpoint is Google's.
        TypeError, ValueError: An option has the wrong type or value (an API key that is
            not one line of printable ASCII is refused here, without showing it).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        endpoint: str | None = None,
        transport: Transport = "grpc",
        http2: bool = False,
        insecure: bool = False,
        metadata: MetadataLike | None = None,
        timeout: float | None = None,
        retry: Retry | EllipsisType | None = ...,
        max_concurrency: int = 8,
        channel_factory: Callable[[], Channel]
        | Callable[[], httpx.AsyncBaseTransport]
        | None = None,
        allow_plaintext_key: bool = False,
        requests_per_minute: float | None = None,
        texts_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        quota_share: float = 1.0,
        quota_time_scale: float = 1.0,
    ) -> None:
        from textservice._governor import RateGovernor
        from textservice._transport.callpath import ClientCallPath, check_metadata
        from textservice._transport.channels import is_loopback
        from textservice._transport.options import check_retry
        from textservice._transport.secrets import Secret, check_api_key

        if api_key is None:
            api_key = os.environ.get(API_KEY_ENV) or None
            if api_key is not None:
                check_api_key(api_key, f"the {API_KEY_ENV} environment variable")
        elif not isinstance(api_key, str):
            raise TypeError(f"api_key must be a str, got {type(api_key).__name__}")
        elif not api_key.strip():
            raise ValueError("api_key is empty")
        else:
            check_api_key(api_key)
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, got {transport!r}")
        if not isinstance(insecure, bool):
            raise TypeError(f"insecure must be a bool, got {type(insecure).__name__}")
        if not isinstance(http2, bool):
            raise TypeError(f"http2 must be a bool, got {type(http2).__name__}")
        if channel_factory is not None and not callable(channel_factory):
            raise TypeError(
                "channel_factory must be a callable returning a grpclib Channel "
                "(transport='rest': an httpx.AsyncBaseTransport)"
            )
        self._endpoint, insecure, origin = _server(endpoint, insecure, channel_factory)
        self._insecure = insecure
        user_metadata = check_metadata(metadata)
        checked_timeout = check_seconds(timeout)
        checked_retry = retry if retry is ... else check_retry(retry)
        checked_concurrency = check_count(max_concurrency, "max_concurrency")
        quota_settings = _governor_settings(
            checked_concurrency,
            requests_per_minute,
            texts_per_minute,
            tokens_per_minute,
            quota_share,
            quota_time_scale,
        )
        host = self._endpoint.host.lower().rstrip(".")
        if api_key is None and channel_factory is None and host.endswith("googleapis.com"):
            raise MissingAPIKeyError(
                f"no API key for {self._endpoint}{origin}: pass api_key=... to "
                f"Client or configure(), or set the {API_KEY_ENV} environment variable"
            )
        if (
            api_key is not None
            and insecure
            and channel_factory is None
            and not is_loopback(self._endpoint.host)
            and not allow_plaintext_key
        ):
            raise ValueError(
                f"refusing to send the API key in plaintext to {self._endpoint}{origin}: use TLS "
                "(insecure=False), a loopback address, or allow_plaintext_key=True"
            )
        self._has_key = api_key is not None
        self._channel_factory = channel_factory
        self._transport: Transport = transport
        # Nothing the call path holds may refer to the client (the channel opener included),
        # or the finalizer's argument (the call path) would keep the client alive.
        self._path = ClientCallPath(
            _opener(transport, self._endpoint, insecure, http2, channel_factory),
            metadata=user_metadata,
            secret=Secret(api_key) if api_key is not None else None,
            timeout=checked_timeout,
            retry=checked_retry,
            governor=RateGovernor(quota_settings),
        )
        self._finalizer = weakref.finalize(self, type(self._path).shutdown, self._path)

    # -- public surface ---------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``host:port`` this client connects to."""
        return str(self._endpoint)

    @property
    def transport(self) -> Transport:
        """``"grpc"`` or ``"rest"``."""
        return self._transport

    @property
    def insecure(self) -> bool:
        """Whether the connection is plaintext."""
        return self._insecure

    @property
    def timeout(self) -> float | None:
        """The client-wide timeout (``None``: each method's default)."""
        return self._path.timeout

    @property
    def retry(self) -> Retry | EllipsisType | None:
        """The client-wide retry policy (``...``: each method's default; ``None``: none)."""
        return self._path.retry

    @property
    def max_concurrency(self) -> int:
        """Batch RPCs in flight at once when embedding a list."""
        return self._path.max_concurrency

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._path.closed

    def quota_stats(self) -> QuotaStats:
        """What the client's rate governor has done so far, per method and model and in total.

        ``sent`` (calls let through), ``rejected`` (answered RESOURCE_EXHAUSTED), ``refused``
        (failed without being sent: a per-day quota, a delay too long to wait), ``waited``
        (seconds calls spent held back for quota) and ``throttled`` (whether calls are being
        held back now); per ``QuotaKey(method, model)`` in ``keys``, also the concurrency
        ``limit`` now and the per-minute ``limits`` in force.
        """
        return self._path.governor.snapshot()

    def close(self) -> None:
        """Cancel calls in flight, close every connection and stop the background thread.

        Calls in flight raise ``Cancelled``; later calls raise ``ClientClosedError``.
        """
        self._path.mark_closed()
        self._finalizer()

    async def aclose(self) -> None:
        """``close()`` for async code: the running loop's channel is closed on this loop."""
        self._path.mark_closed()
        await self._path.pool.close_current()
        self._finalizer()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        from textservice._transport.secrets import REDACTED

        key = REDACTED if self._has_key else None
        link = (
            "channel_factory"
            if self._channel_factory is not None
            else ("plaintext" if self._insecure else "tls")
        )
        transport = link if self._transport == "grpc" else f"rest+{link}"
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, transport={transport!r}, "
            f"api_key={key!r}, closed={self.closed})"
        )


def _opener(
    transport: Transport,
    endpoint: Endpoint,
    insecure: bool,
    http2: bool,
    channel_factory: Callable[[], Any] | None,
) -> Callable[[], Channel | Connection]:
    """What opens a loop's connection: a grpclib channel, or a REST connection (an httpx
    client over TCP, or over the transport ``channel_factory`` makes)."""
    from textservice._transport.channels import open_tcp_channel, tls_context

    if transport == "grpc":
        if channel_factory is not None:
            return cast("Callable[[], Channel]", channel_factory)
        return functools.partial(open_tcp_channel, endpoint, None if insecure else tls_context())
    from textservice._transport.rest.connection import RestConnection, base_url

    base = base_url(endpoint.host, endpoint.port, insecure=insecure)
    if channel_factory is not None:
        made = channel_factory

        def open_over_factory() -> Connection:
            return RestConnection(base, transport=made(), http2=http2)

        return open_over_factory
    return functools.partial(
        RestConnection, base, ssl_context=None if insecure else tls_context(), http2=http2
    )


TextServiceClient = Client
"""``Client``'s former name, kept: every function takes either (they are one class)."""


_LAZY = {
    "API_KEY_HEADER": "textservice._transport.callpath",
    "QuotaKey": "textservice._governor",
    "QuotaKeyStats": "textservice._governor",
    "QuotaStats": "textservice._governor",
}
"""Names of ``__all__`` defined in the runtime, imported on first use."""


if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__, _ = lazy_attributes(globals(), _LAZY)


def call_path(client: Client) -> ClientCallPath:
    """The call path ``client`` owns: what the engine and the RPC layer call through."""
    return client._path


_default_lock = threading.Lock()
_default: Client | None = None


def _after_fork() -> None:
    # A thread of the parent may have held the lock when it forked (the default client
    # itself is renewed by its call path: callpath._after_fork).
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _with_arguments_of(
    made: Callable[P, Client],
) -> Callable[[Callable[..., Client]], Callable[P, Client]]:
    """Give a function ``made``'s parameters: for type checkers (``P``) and for ``help`` and
    ``inspect.signature`` (its ``__signature__``), so they are written once, on ``Client``."""

    def give(function: Callable[..., Client]) -> Callable[P, Client]:
        shown = inspect.signature(made)
        function.__signature__ = shown.replace(  # type: ignore[attr-defined]
            return_annotation="Client"
        )
        return cast("Callable[P, Client]", function)

    return give


@_with_arguments_of(Client)
def configure(*args: Any, **options: Any) -> Client:
    """Set up the default client (used when a call gets no ``client=``) and return it.

    Takes the arguments of :class:`Client`, with the same defaults. The previous default
    client is closed.
    """
    global _default
    client = Client(*args, **options)
    with _default_lock:
        old, _default = _default, client
    if old is not None:
        old.close()
    return client


def _options_dict() -> Any:
    """``ClientOptions``: ``Client``'s keyword options as a ``TypedDict`` (all optional),
    made from its signature."""
    keywords = inspect.signature(Client).parameters.values()
    fields = {p.name: p.annotation for p in keywords if p.kind is p.KEYWORD_ONLY}
    return TypedDict("ClientOptions", fields, total=False)  # type: ignore[operator]


if TYPE_CHECKING:
    ClientOptions: TypeAlias = Mapping[str, Any]
else:
    ClientOptions = _options_dict()
    """``Client``'s keyword options as a ``TypedDict``, kept for code that imports it (made
    from the signature, the one place they are declared; ``configure`` takes them typed)."""


def get_default_client() -> Client:
    """The default client: the one ``configure`` made, else one from ``GOOGLE_API_KEY``."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Client()
        return _default
