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
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import click

from textservice._transport.secrets import read_key_file
from textservice.client import API_KEY_ENV, TRANSPORTS, Client
from textservice.errors import MissingAPIKeyError

__all__ = [
    "CLIENT_FLAGS",
    "PER_MINUTE",
    "ClientFlag",
    "Connection",
    "client_or_exit",
    "connection_options",
    "flag_of",
    "make_client",
    "read_api_key_file",
    "run_call",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_PER_MINUTE_RANGE = click.FloatRange(min=0, min_open=True)


@dataclass(frozen=True)
class ClientFlag:
    """One of ``Client``'s keyword options as a command-line option. The option is declared
    once, on ``Client``: its default is read from there; here are only its flag, help and
    the values the command line takes."""

    option: str
    """The ``Client`` keyword argument it sets."""
    flag: str
    help: str
    type: Any = None
    """The click type of its value (``None``: a flag, ``True`` when given)."""
    metavar: str | None = None
    show_default: bool = False


CLIENT_FLAGS: tuple[ClientFlag, ...] = (
    ClientFlag(
        "endpoint",
        "--endpoint",
        "Server to call; http://HOST:PORT is plaintext, https://HOST:PORT TLS "
        "[default: $TEXTSERVICE_ENDPOINT, else generativelanguage.googleapis.com:443].",
        click.STRING,
        "HOST:PORT",
    ),
    ClientFlag("insecure", "--insecure", "Plaintext (no TLS), e.g. to a local server."),
    ClientFlag(
        "transport",
        "--transport",
        "gRPC, or REST (HTTP/1.1 and JSON: through proxies that pass nothing else).",
        click.Choice(TRANSPORTS),
        show_default=True,
    ),
    ClientFlag(
        "timeout",
        "--timeout",
        "Seconds per call with its retries [default: the method's, 60].",
        click.FloatRange(min=0, min_open=True),
    ),
    ClientFlag(
        "requests_per_minute",
        "--rpm",
        "Send at most N calls a minute (per method and model) [default: as the server "
        "allows; a limit its quota errors name is learned].",
        _PER_MINUTE_RANGE,
        "N",
    ),
    ClientFlag(
        "tokens_per_minute",
        "--tpm",
        "Send at most N input tokens a minute (a text counts ceil(UTF-8 bytes / 4)).",
        _PER_MINUTE_RANGE,
        "N",
    ),
    ClientFlag(
        "texts_per_minute",
        "--texts-per-minute",
        "Send at most N texts a minute.",
        _PER_MINUTE_RANGE,
        "N",
    ),
    ClientFlag(
        "quota_share",
        "--quota-share",
        "Take this fraction of every limit, given or learned (0.25: one of four "
        "machines sharing a project's quota).",
        click.FloatRange(min=0, max=1, min_open=True),
        "F",
        show_default=True,
    ),
    ClientFlag(
        "quota_time_scale",
        "--quota-time-scale",
        "The server's quota clock runs X times faster (the X of "
        "'textservice fake-server --time-scale X'); 1 for the API.",
        click.FloatRange(min=0, min_open=True),
        "X",
        show_default=True,
    ),
)
"""The client options the commands take, in the order ``--help`` lists them."""

PER_MINUTE = ("requests_per_minute", "texts_per_minute", "tokens_per_minute")
"""The client's per-minute limits (``--rpm``, ``--texts-per-minute``, ``--tpm``)."""


def flag_of(option: str) -> str:
    """The command-line flag of a client option (``"requests_per_minute"``: ``"--rpm"``)."""
    (flag,) = [f.flag for f in CLIENT_FLAGS if f.option == option]
    return flag


@dataclass(frozen=True)
class Connection:
    """Where and how to connect: the fake server, or an endpoint with a key."""

    fake: bool
    api_key_file: str | None
    options: Mapping[str, Any] = field(default_factory=dict)
    """The client's keyword options the flags set (``CLIENT_FLAGS``), by name."""

    def option(self, name: str) -> Any:
        """A client option as given (else the client's default)."""
        if name in self.options:
            return self.options[name]
        return client_default(name)

    def over_rest(self) -> Connection:
        """The same connection over REST (Batch mode and the Files API are served over REST
        only)."""
        return dataclasses.replace(self, options={**self.options, "transport": "rest"})

    def __repr__(self) -> str:
        # Only the key file's path is held, never the key; still, keep reprs minimal.
        return (
            f"Connection(fake={self.fake}, endpoint={self.option('endpoint')!r}, "
            f"insecure={self.option('insecure')}, transport={self.option('transport')!r})"
        )


def client_default(name: str) -> Any:
    """The default of ``Client``'s option ``name``: its signature is where they are declared."""
    return inspect.signature(Client).parameters[name].default


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


def _client_flag(flag: ClientFlag) -> Callable[[F], F]:
    default = client_default(flag.option)
    if flag.type is None:
        return click.option(flag.flag, flag.option, is_flag=True, help=flag.help)
    return click.option(
        flag.flag,
        flag.option,
        type=flag.type,
        default=default,
        show_default=flag.show_default,
        metavar=flag.metavar,
        help=flag.help,
    )


def connection_options(command: F) -> F:
    """Add --fake, --api-key-file and the client's options (``CLIENT_FLAGS``: --endpoint,
    --insecure, --transport, --timeout and the quota options) to ``command``.

    They reach the command as one ``connection: Connection`` argument.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, fake: bool, api_key_file: str | None, **kwargs: Any) -> Any:
        options = {flag.option: kwargs.pop(flag.option) for flag in CLIENT_FLAGS}
        if fake and (
            options["endpoint"] is not None or api_key_file is not None or options["insecure"]
        ):
            raise click.UsageError(
                "--fake cannot be combined with --endpoint/--insecure/--api-key-file"
            )
        return command(*args, connection=Connection(fake, api_key_file, options), **kwargs)

    made: Any = wrapper
    for flag in reversed(CLIENT_FLAGS):
        made = _client_flag(flag)(made)
    made = click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False),
        default=None,
        help="File holding the API key [default: the GOOGLE_API_KEY environment variable].",
    )(made)
    made = click.option(
        "--fake",
        is_flag=True,
        help="Use the in-process fake server (no key, no network).",
    )(made)
    return cast("F", made)


def make_client(connection: Connection, *, max_concurrency: int | None = None) -> Client:
    """A client for ``connection`` (with its own fake for ``--fake``), made before any output;
    ``max_concurrency`` if given, else the client's default.

    Making it checks the key, so a missing one is a ``click.UsageError`` naming the CLI's
    ways to give one, before any file is created or call made.
    """
    options = dict(connection.options)
    if max_concurrency is not None:
        options["max_concurrency"] = max_concurrency
    if connection.fake:
        from textservice.testing import FakeServer

        fake = FakeServer()
        rest = connection.option("transport") == "rest"
        options.pop("endpoint", None)
        options.pop("insecure", None)
        return Client(
            channel_factory=fake.http_transport if rest else fake.channel,
            **options,
        )
    key = read_api_key_file(connection.api_key_file) if connection.api_key_file else None
    try:
        return Client(key, **options)
    except MissingAPIKeyError:
        # The library's message advises api_key=...; a CLI user has these instead.
        raise click.UsageError(
            f"no API key: set the {API_KEY_ENV} environment variable or pass --api-key-file "
            "FILE (or use --fake: the in-process fake server, no key, no network)"
        ) from None


def client_or_exit(connection: Connection, *, max_concurrency: int | None = None) -> Client:
    """The client, or the exit: no key (usage error naming the options), a bad endpoint."""
    from textservice.cli.exit_codes import ExitCode, describe, fail

    try:
        return make_client(connection, max_concurrency=max_concurrency)
    except (TypeError, ValueError) as exc:
        fail(describe(exc), ExitCode.USAGE)


def run_call(
    connection: Connection,
    call: Callable[[Client], Awaitable[T]],
    *,
    max_concurrency: int | None = None,
) -> T:
    """Run one async call with a client for ``connection``; errors become exit codes."""
    import asyncio

    from textservice.cli.exit_codes import ExitCode, describe, exit_code_for, fail

    client = client_or_exit(connection, max_concurrency=max_concurrency)

    async def run() -> T:
        async with client:
            return await call(client)

    try:
        return asyncio.run(run())
    except (click.ClickException, BrokenPipeError):
        raise
    except BaseException as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        fail("interrupted" if code == ExitCode.INTERRUPTED else describe(exc), code)
