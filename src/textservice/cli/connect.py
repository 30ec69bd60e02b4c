"""Connection options shared by the commands, and the client they make.

Besides where to connect: the client's quota options (``--rpm``, ``--tpm``,
``--texts-per-minute``, ``--quota-share``, ``--quota-time-scale``), which limit its calls
per method and model on this side, before the server has to refuse them.

The API key comes from ``GOOGLE_API_KEY`` or ``--api-key-file`` and goes only into the
client (which never shows it); it is never echoed, logged or put in an error message here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from textservice._transport.secrets import read_key_file
from textservice.client import API_KEY_ENV, TRANSPORTS, TextServiceClient
from textservice.errors import MissingAPIKeyError

__all__ = [
    "Connection",
    "Quota",
    "client_or_exit",
    "connection_options",
    "make_client",
    "read_api_key_file",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Quota:
    """The client's quota options, named as ``TextServiceClient``'s keyword arguments."""

    requests_per_minute: float | None = None
    texts_per_minute: float | None = None
    tokens_per_minute: float | None = None
    quota_share: float = 1.0
    quota_time_scale: float = 1.0


@dataclass(frozen=True)
class Connection:
    """Where and how to connect: the fake server, or an endpoint with a key."""

    fake: bool
    endpoint: str | None
    insecure: bool
    api_key_file: str | None
    timeout: float | None
    quota: Quota = Quota()
    transport: str = "grpc"
    """``grpc`` or ``rest`` (``--transport``)."""

    def __repr__(self) -> str:
        # Only the key file's path is held, never the key; still, keep reprs minimal.
        return (
            f"Connection(fake={self.fake}, endpoint={self.endpoint!r}, "
            f"insecure={self.insecure}, transport={self.transport!r})"
        )


def read_api_key_file(path: str) -> str:
    """The key in ``path`` (as ``read_key_file`` reads and checks a key file);
    ``click.UsageError`` if none, or if it is not one key (two lines, a NUL, a non-ASCII
    letter)."""
    try:
        return read_key_file(path, f"--api-key-file {path}")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.UsageError(f"cannot read --api-key-file {path}: {reason}") from None
    except ValueError as exc:  # not UTF-8, only whitespace, or not one key
        raise click.UsageError(str(exc)) from None


_PER_MINUTE = click.FloatRange(min=0, min_open=True)


def connection_options(command: F) -> F:
    """Add --fake, --endpoint, --insecure, --transport, --api-key-file, --timeout and the
    quota options to ``command``.

    They reach the command as one ``connection: Connection`` argument.
    """

    @click.option(
        "--fake",
        is_flag=True,
        help="Use the in-process fake server (no key, no network).",
    )
    @click.option(
        "--endpoint",
        metavar="HOST:PORT",
        default=None,
        help="Server to call; http://HOST:PORT is plaintext, https://HOST:PORT TLS "
        "[default: $TEXTSERVICE_ENDPOINT, else generativelanguage.googleapis.com:443].",
    )
    @click.option("--insecure", is_flag=True, help="Plaintext (no TLS), e.g. to a local server.")
    @click.option(
        "--transport",
        type=click.Choice(TRANSPORTS),
        default="grpc",
        show_default=True,
        help="gRPC, or REST (HTTP/1.1 and JSON: through proxies that pass nothing else).",
    )
    @click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False),
        default=None,
        help="File holding the API key [default: the GOOGLE_API_KEY environment variable].",
    )
    @click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Seconds per call with its retries [default: the method's, 60].",
    )
    @click.option(
        "--rpm",
        "requests_per_minute",
        type=_PER_MINUTE,
        default=None,
        metavar="N",
        help="Send at most N calls a minute (per method and model) [default: as the server "
        "allows; a limit its quota errors name is learned].",
    )
    @click.option(
        "--tpm",
        "tokens_per_minute",
        type=_PER_MINUTE,
        default=None,
        metavar="N",
        help="Send at most N input tokens a minute (a text counts ceil(UTF-8 bytes / 4)).",
    )
    @click.option(
        "--texts-per-minute",
        type=_PER_MINUTE,
        default=None,
        metavar="N",
        help="Send at most N texts a minute.",
    )
    @click.option(
        "--quota-share",
        type=click.FloatRange(min=0, max=1, min_open=True),
        default=1.0,
        show_default=True,
        metavar="F",
        help="Take this fraction of every limit, given or learned (0.25: one of four "
        "machines sharing a project's quota).",
    )
    @click.option(
        "--quota-time-scale",
        type=click.FloatRange(min=0, min_open=True),
        default=1.0,
        show_default=True,
        metavar="X",
        help="The server's quota clock runs X times faster (the X of "
        "'textservice fake-server --time-scale X'); 1 for the API.",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        fake: bool,
        endpoint: str | None,
        insecure: bool,
        transport: str,
        api_key_file: str | None,
        timeout: float | None,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        texts_per_minute: float | None,
        quota_share: float,
        quota_time_scale: float,
        **kwargs: Any,
    ) -> Any:
        if fake and (endpoint is not None or api_key_file is not None or insecure):
            raise click.UsageError(
                "--fake cannot be combined with --endpoint/--insecure/--api-key-file"
            )
        quota = Quota(
            requests_per_minute, texts_per_minute, tokens_per_minute, quota_share, quota_time_scale
        )
        connection = Connection(
            fake, endpoint, insecure, api_key_file, timeout, quota, transport=transport
        )
        return command(*args, connection=connection, **kwargs)

    return wrapper  # type: ignore[return-value]


def make_client(connection: Connection, *, max_concurrency: int = 8) -> TextServiceClient:
    """A client for ``connection`` (with its own fake for ``--fake``), made before any output.

    Making it checks the key, so a missing one is a ``click.UsageError`` naming the CLI's
    ways to give one, before any file is created or call made.
    """
    if connection.fake:
        from textservice.testing import FakeTextService

        fake = FakeTextService()
        rest = connection.transport == "rest"
        return TextServiceClient(
            transport="rest" if rest else "grpc",
            channel_factory=fake.http_transport if rest else fake.channel,
            max_concurrency=max_concurrency,
            timeout=connection.timeout,
            **dataclasses.asdict(connection.quota),
        )
    key = read_api_key_file(connection.api_key_file) if connection.api_key_file else None
    try:
        return TextServiceClient(
            key,
            endpoint=connection.endpoint,
            insecure=connection.insecure,
            transport="rest" if connection.transport == "rest" else "grpc",
            max_concurrency=max_concurrency,
            timeout=connection.timeout,
            **dataclasses.asdict(connection.quota),
        )
    except MissingAPIKeyError:
        # The library's message advises api_key=...; a CLI user has these instead.
        raise click.UsageError(
            f"no API key: set the {API_KEY_ENV} environment variable or pass --api-key-file "
            "FILE (or use --fake: the in-process fake server, no key, no network)"
        ) from None


def client_or_exit(connection: Connection, *, max_concurrency: int = 8) -> TextServiceClient:
    """The client, or the exit: no key (usage error naming the options), a bad endpoint."""
    from textservice.cli.exit_codes import ExitCode, describe, fail

    try:
        return make_client(connection, max_concurrency=max_concurrency)
    except (TypeError, ValueError) as exc:
        fail(describe(exc), ExitCode.USAGE)
