"""``python -m textservice.testing``: run the fake server (TextService, GenerativeService,
ModelService of every generated version) standalone.

For other processes and languages: prints ``listening on HOST:PORT`` once it accepts calls
(with ``--rest-port R``: ``listening on HOST:PORT (gRPC) and http://HOST:R (REST)``), stops
cleanly on Ctrl-C (SIGINT) or SIGTERM. ``--port 0`` (``--rest-port 0``) picks a free port.
The options are ``textservice._fake_server_options``' table, which ``textservice
fake-server`` reads too: both commands hand what they parsed to ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textservice._fake_server_options import (
    FAKE_API_KEY_ENV,
    FAKE_SERVER_OPTIONS,
    FakeServerOption,
)
from textservice.testing.batch_mode import BATCH_SECONDS
from textservice.testing.catalogue import DEFAULT_KNOWN_MODELS
from textservice.testing.fake import FakeServer
from textservice.testing.quotas import quotas_from_arguments

__all__ = ["main", "run"]

_NAME = "textservice fake server"


def _int_in(option: FakeServerOption) -> Callable[[str], int]:
    """argparse's type for an ``int`` option within its bounds (as click's ``IntRange``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if (option.low is not None and value < option.low) or (
            option.high is not None and value > option.high
        ):
            raise argparse.ArgumentTypeError(f"{value} is not {option.bounds()}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m textservice.testing",
        description="Run the fake Generative Language API: TextService, GenerativeService "
        "(EmbedContent, BatchEmbedContents, CountTokens) and ModelService (ListModels, "
        "GetModel) of every API version, and on the REST face Batch mode and the Files API; "
        "other RPCs answer UNIMPLEMENTED.",
    )
    quotas = parser.add_argument_group("quotas (per method and model, like the API's)")
    for option in FAKE_SERVER_OPTIONS:
        group = quotas if option.field is not None else parser
        shown = option.metavar or None
        if option.kind == "flag":
            group.add_argument(option.flag, dest=option.dest, action="store_true", help=option.help)
        elif option.kind == "repeated":
            group.add_argument(
                option.flag, dest=option.dest, action="append", metavar=shown, help=option.help
            )
        else:
            kind: Callable[[str], Any] = str
            if option.kind == "int":
                kind = _int_in(option)
            elif option.kind == "float":
                kind = float
            help_text = option.help
            if option.default is not None:
                help_text += " (default %(default)s)"
            group.add_argument(
                option.flag,
                dest=option.dest,
                type=kind,
                default=option.default,
                choices=option.choices or None,
                metavar=shown,
                help=help_text,
            )
    return parser


async def _serve(fake: FakeServer, host: str, port: int, rest_port: int | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # not everywhere (Windows): there Ctrl-C raises KeyboardInterrupt, handled in run()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        address = await stack.enter_async_context(fake.serve_async(host, port))
        if rest_port is None:
            print(f"{_NAME} listening on {address.target}", flush=True)
        else:
            rest = await stack.enter_async_context(fake.serve_rest_async(host, rest_port))
            print(
                f"{_NAME} listening on {address.target} (gRPC) and http://{rest.target} (REST)",
                flush=True,
            )
        await stop.wait()
    print(f"{_NAME} stopped", flush=True)


def run(values: Mapping[str, Any]) -> int:
    """Run the server with the parsed options (by ``FakeServerOption.dest``; what is not given
    takes its default) until interrupted; the exit status."""
    given = {o.dest: values.get(o.dest, o.default) for o in FAKE_SERVER_OPTIONS}
    api_key = None
    if given["require_api_key"]:
        api_key = os.environ.get(FAKE_API_KEY_ENV)
        if not api_key:
            print(f"--require-api-key: set {FAKE_API_KEY_ENV} to the key", file=sys.stderr)
            return 2
    models = tuple(given["models"] or ())
    known = None if given["any_model"] else (models or DEFAULT_KNOWN_MODELS)
    try:
        fake = FakeServer(
            api_key=api_key,
            known_models=known,
            strict_methods=bool(given["strict_methods"]),
            strict_models=bool(given["strict_models"]),
            embedding_dimension=given["dimension"],
            quotas=quotas_from_arguments(given),
            batch_seconds=(
                BATCH_SECONDS if given["batch_seconds"] is None else given["batch_seconds"]
            ),
        )
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host, port = given["host"], given["port"]
    try:
        asyncio.run(_serve(fake, host, port, given["rest_port"]))
    except KeyboardInterrupt:
        print(f"{_NAME} stopped", flush=True)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and ``run``; the exit status."""
    return run(vars(_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
