"""The ``textservice`` command line (click): embed, models, generate-text, count-tokens,
fake-server."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from textservice._fake_server_options import FAKE_SERVER_OPTIONS
from textservice.cli.batch_command import batch
from textservice.cli.connect import Connection, connection_options, run_call
from textservice.cli.embed_command import embed
from textservice.cli.exit_codes import (
    EXIT_CODES_HELP,
    ExitCode,
    fail,
    stop_quietly,
)
from textservice.client import Client

__all__ = ["cli", "main"]

T = TypeVar("T")


class _Commands(click.Group):
    """The command group: any command whose output is closed early stops quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a ``BrokenPipeError`` becomes exit 141 (click would give 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            stop_quietly()


def _read_text_argument(text: str | None, what: str) -> str:
    if text is not None and text != "-":
        return text
    if text is None and sys.stdin.isatty():
        raise click.UsageError(f"no {what}: pass it as an argument, or pipe it in")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"the {what} on standard input is not UTF-8 ({exc})") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(package_name="textservice", prog_name="textservice")
def cli() -> None:
    """Use the Generative Language API from the command line.

    embed: today's models through GenerativeService (the retired embedding-gecko models
    through the legacy TextService), online or in Batch mode; batch: Batch mode's jobs;
    models: what the API serves. generate-text and
    count-tokens call the legacy TextService. The API key comes from the GOOGLE_API_KEY
    environment variable or --api-key-file; it is never printed. The server is --endpoint,
    else the TEXTSERVICE_ENDPOINT environment variable (http://HOST:PORT for plaintext), else
    Google's. --fake uses the in-process fake server instead: no key, no network.
    """


cli.add_command(embed)
cli.add_command(batch)


def _model_line(model: Mapping[str, Any], name_width: int) -> str:
    """One model for people: its name, its methods and its token limits."""
    methods = ", ".join(model["supported_generation_methods"]) or "(no methods listed)"
    limits = []
    if model["input_token_limit"]:
        limits.append(f"input {model['input_token_limit']:,} tokens")
    if model["output_token_limit"]:
        limits.append(f"output {model['output_token_limit']:,}")
    shown = f"{model['name']:<{name_width}}  {methods}"
    return f"{shown}  ({', '.join(limits)})" if limits else shown


@cli.command("models", epilog=EXIT_CODES_HELP)
@click.option(
    "--method",
    "methods",
    multiple=True,
    metavar="NAME",
    help="Only the models supporting this method, e.g. embedContent (repeatable: any of them).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model (JSONL).")
@connection_options
def models(methods: tuple[str, ...], as_json: bool, connection: Connection) -> None:
    """List the models the API serves (ModelService ListModels, every page), one per line:
    its name, the methods it supports (embedContent: 'textservice embed'; embedText: the
    legacy TextService) and its token limits. The API does not list embedding lengths."""
    from textservice import v1beta

    async def every_page(client: Client) -> list[Any]:
        return [model async for model in v1beta.list_models_async(client=client)]

    found = run_call(connection, every_page)
    if methods:
        wanted = {m.lower() for m in methods}
        found = [
            m for m in found if wanted & {n.lower() for n in m["supported_generation_methods"]}
        ]
    if as_json:
        for model in found:
            click.echo(json.dumps(_jsonable(dict(model)), ensure_ascii=False))
        return
    width = max((len(m["name"]) for m in found), default=0)
    for model in found:
        click.echo(_model_line(model, width))


@cli.command("generate-text", epilog=EXIT_CODES_HELP)
@click.argument("prompt", required=False)
@click.option("--model", "-m", default="models/text-bison-001", show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 1), default=None)
@click.option("--candidates", "candidate_count", type=click.IntRange(1, 8), default=None)
@click.option("--max-output-tokens", type=click.IntRange(min=1), default=None)
@click.option("--top-p", type=click.FloatRange(0, 1), default=None)
@click.option("--top-k", type=click.IntRange(min=1), default=None)
@click.option("--stop", "stop_sequences", multiple=True, help="A stop sequence (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole response as JSON.")
@connection_options
def generate_text(
    prompt: str | None,
    model: str,
    temperature: float | None,
    candidate_count: int | None,
    max_output_tokens: int | None,
    top_p: float | None,
    top_k: int | None,
    stop_sequences: tuple[str, ...],
    as_json: bool,
    connection: Connection,
) -> None:
    """Complete PROMPT (an argument, or standard input when omitted or '-')."""
    text = _read_text_argument(prompt, "prompt")
    from textservice import v1beta

    result = run_call(
        connection,
        lambda client: v1beta.generate_text_async(
            model=model,
            prompt=text,
            temperature=temperature,
            candidate_count=candidate_count,
            max_output_tokens=max_output_tokens,
            top_p=top_p,
            top_k=top_k,
            stop_sequences=list(stop_sequences) or None,
            client=client,
        ),
    )
    if as_json:
        click.echo(json.dumps(_jsonable(dict(result)), indent=2, ensure_ascii=False))
        return
    candidates = result["candidates"]
    if not candidates:
        reasons = ", ".join(str(_jsonable(f.get("reason"))) for f in result["filters"])
        fail(f"no candidates{f' (filtered: {reasons})' if reasons else ''}", ExitCode.ERROR)
    if len(candidates) == 1:
        click.echo(candidates[0]["output"])
        return
    for number, candidate in enumerate(candidates, start=1):
        click.echo(f"--- candidate {number}")
        click.echo(candidate["output"])


@cli.command("count-tokens", epilog=EXIT_CODES_HELP)
@click.argument("text", required=False)
@click.option("--model", "-m", required=True, help="Model name, e.g. models/text-bison-001.")
@connection_options
def count_tokens(text: str | None, model: str, connection: Connection) -> None:
    """Print how many tokens TEXT is (an argument, or standard input when omitted or '-')."""
    prompt = _read_text_argument(text, "text")
    from textservice import v1beta

    result = run_call(
        connection,
        lambda client: v1beta.count_text_tokens_async(model, prompt, client=client),
    )
    click.echo(result["token_count"])


def _fake_server_options(command: Callable[..., None]) -> Callable[..., None]:
    """The fake server's options, from the table ``python -m textservice.testing`` uses too."""
    for option in reversed(FAKE_SERVER_OPTIONS):
        shown = option.metavar or None
        if option.kind == "flag":
            made = click.option(option.flag, option.dest, is_flag=True, help=option.help)
        elif option.kind == "repeated":
            made = click.option(
                option.flag, option.dest, multiple=True, metavar=shown, help=option.help
            )
        else:
            kind: Any = click.STRING
            if option.kind == "int":
                bounded = option.low is not None or option.high is not None
                kind = click.IntRange(option.low, option.high) if bounded else click.INT
            elif option.kind == "float":
                kind = click.FLOAT
            elif option.kind == "choice":
                kind = click.Choice(option.choices)
            made = click.option(
                option.flag,
                option.dest,
                type=kind,
                default=option.default,
                show_default=option.default is not None,
                metavar=shown,
                help=option.help,
            )
        command = made(command)
    return command


@cli.command("fake-server")
@_fake_server_options
def fake_server(**options: Any) -> None:
    """Run the fake API server on HOST:PORT until Ctrl-C (for other processes and tests).

    Connect with: textservice embed --endpoint HOST:PORT --insecure ... (any API key works
    unless --require-api-key), or point unchanged code and commands at it with
    TEXTSERVICE_ENDPOINT=http://HOST:PORT; with --rest-port R, also --transport rest to
    HOST:R, or google-genai with base_url http://HOST:R.
    """
    from textservice.testing.__main__ import run

    sys.exit(run(options))


def main() -> None:
    """Entry point of the ``textservice`` console script."""
    cli(prog_name="textservice")
