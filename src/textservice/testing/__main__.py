"""``python -m textservice.testing``: run the fake server (TextService, GenerativeService,
ModelService of every generated version) standalone.

For other processes and languages: prints ``listening on HOST:PORT`` once it accepts calls
(with ``--rest-port R``: ``listening on HOST:PORT (gRPC) and http://HOST:R (REST)``), stops
cleanly on Ctrl-C (SIGINT) or SIGTERM. ``--port 0`` (``--rest-port 0``) picks a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from textservice.testing.batch_mode import BATCH_SECONDS
from textservice.testing.catalogue import DEFAULT_KNOWN_MODELS
from textservice.testing.fake import FakeServer
from textservice.testing.quotas import add_quota_arguments, quotas_from_arguments

API_KEY_ENV = "TEXTSERVICE_FAKE_API_KEY"
_NAME = "textservice fake server"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m textservice.testing",
        description="Run the fake Generative Language API: TextService, GenerativeService "
        "(EmbedContent, BatchEmbedContents, CountTokens) and ModelService (ListModels, "
        "GetModel) of every API version, and on the REST face Batch mode and the Files API; "
        "other RPCs answer UNIMPLEMENTED.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=50051, help="port, 0 for a free one (default %(default)s)"
    )
    parser.add_argument(
        "--rest-port",
        type=int,
        default=None,
        help="also serve the REST face (HTTP/JSON) on this port, 0 for a free one "
        "(default: gRPC only)",
    )
    parser.add_argument(
        "--dimension",
        type=int,
        default=None,
        help="embedding length of every model (default: each model's own, 3072 for "
        "models/gemini-embedding-001, 768 for the others)",
    )
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="a known model name (repeatable; default: "
        + ", ".join(DEFAULT_KNOWN_MODELS)
        + "); tunedModels/... are always served",
    )
    parser.add_argument(
        "--any-model", action="store_true", help="serve every well-formed model name"
    )
    parser.add_argument(
        "--strict-methods",
        action="store_true",
        help="answer NOT_FOUND, as the API does, for a model whose supported generation "
        "methods lack the RPC's (default: every served model works through every RPC)",
    )
    parser.add_argument(
        "--strict-models",
        action="store_true",
        help="answer INVALID_ARGUMENT for fields a model ignores (task_type and title sent to "
        "models/gemini-embedding-2, which takes the task in the text); default: accepted and "
        "ignored, as the API does",
    )
    parser.add_argument(
        "--require-api-key",
        action="store_true",
        help=f"require x-goog-api-key to equal ${API_KEY_ENV} (read from the environment, "
        "so the key never shows in the process list)",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=BATCH_SECONDS,
        metavar="S",
        help="how long a Batch mode job runs before it succeeds (REST face; default %(default)s)",
    )
    add_quota_arguments(parser)
    return parser


async def _serve(fake: FakeServer, host: str, port: int, rest_port: int | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # not everywhere (Windows): there Ctrl-C raises KeyboardInterrupt, handled in main()
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until interrupted; the exit status."""
    args = _parser().parse_args(argv)
    api_key = None
    if args.require_api_key:
        api_key = os.environ.get(API_KEY_ENV)
        if not api_key:
            print(f"--require-api-key: set {API_KEY_ENV} to the key", file=sys.stderr)
            return 2
    known = None if args.any_model else (args.models or DEFAULT_KNOWN_MODELS)
    try:
        fake = FakeServer(
            api_key=api_key,
            known_models=known,
            strict_methods=args.strict_methods,
            strict_models=args.strict_models,
            embedding_dimension=args.dimension,
            quotas=quotas_from_arguments(args),
            batch_seconds=args.batch_seconds,
        )
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(fake, args.host, args.port, args.rest_port))
    except KeyboardInterrupt:
        print(f"{_NAME} stopped", flush=True)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
