"""``textservice batch list|status|cancel|delete``: Batch mode's jobs at Google.

The jobs ``textservice embed --batch-mode`` sends (named ``textservice-embed-...``) and any
other of the project's, through ``textservice.batches`` (REST: Batch mode has no other face).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from textservice import batches
from textservice.batches import jobs
from textservice.cli.connect import Connection, connection_options, run_call
from textservice.cli.errors import NoSuchJobError
from textservice.cli.exit_codes import EXIT_CODES_HELP
from textservice.client import TextServiceClient
from textservice.errors import NotFound

__all__ = ["batch"]

T = TypeVar("T")


def _when(value: object) -> str:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "-"


def _counts(batch: batches.Batch) -> str:
    stats = batch["batch_stats"]
    if stats is None or not stats["request_count"]:
        return "-"
    done = stats["successful_request_count"] + stats["failed_request_count"]
    text = f"{done:,}/{stats['request_count']:,} done"
    if stats["failed_request_count"]:
        text += f", {stats['failed_request_count']:,} failed"
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, batches.BatchState):
        return value.name
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@click.group("batch", epilog=EXIT_CODES_HELP)
def batch() -> None:
    """Batch mode's jobs: list them, look at one, cancel or delete one (over REST).

    textservice embed --batch-mode sends them (half the price of online calls, done within 24
    hours); rerunning that command picks its job up again.
    """


@batch.command("list", epilog=EXIT_CODES_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job (JSONL).")
@connection_options
def list_jobs(as_json: bool, connection: Connection) -> None:
    """List the project's Batch mode jobs, newest first: name, state, requests done, display
    name, creation time."""

    async def every(client: TextServiceClient) -> list[batches.Batch]:
        return [b async for b in jobs.list_batches(client=client)]

    found = run_call(connection.over_rest(), every)
    if not found:
        click.echo("textservice: no Batch mode jobs", err=True)  # stdout stays empty
    for item in found:
        if as_json:
            click.echo(json.dumps(_jsonable(dict(item)), ensure_ascii=False))
        else:
            click.echo(
                f"{item['name']}  {batches.short_name(item['state'])}  {_counts(item)}  "
                f"{item['display_name'] or '-'}  {_when(item['create_time'])}"
            )


@batch.command("status", epilog=EXIT_CODES_HELP)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The whole job as JSON.")
@connection_options
def status(name: str, as_json: bool, connection: Connection) -> None:
    """Show the job NAME (batches/...): its state, counts, times and results."""
    found = _on_job(connection, name, jobs.get)
    if as_json:
        click.echo(json.dumps(_jsonable(dict(found)), indent=2, ensure_ascii=False))
        return
    output: dict[str, Any] = dict(found["output"] or {})
    results = output.get("responses_file") or (
        "inline (in the job)" if output.get("inlined_responses") else "-"
    )
    rows = [
        ("name", found["name"]),
        ("state", batches.short_name(found["state"])),
        ("model", found["model"] or "-"),
        ("display name", found["display_name"] or "-"),
        ("requests", _counts(found)),
        ("created", _when(found["create_time"])),
        ("ended", _when(found["end_time"])),
        ("results", results),
    ]
    if found["error"] is not None:
        rows.append(("error", found["error"]["message"] or "-"))
    for label, value in rows:
        click.echo(f"{label + ':':<14}{value}")


def _job_command(
    command: str, call: Callable[..., Awaitable[None]], done: str, doc: str
) -> click.Command:
    """``textservice batch COMMAND NAME``: ``call`` on the job NAME, then ``done`` said
    (``{name}``: the job's name as given)."""

    @batch.command(command, epilog=EXIT_CODES_HELP, help=doc)
    @click.argument("name")
    @connection_options
    def job_command(name: str, connection: Connection) -> None:
        _on_job(connection, name, call)
        click.echo(done.format(name=name))

    return job_command


cancel = _job_command(
    "cancel",
    jobs.cancel,
    "asked to cancel {name}",
    "Ask Google to cancel the job NAME (its state says when it is).",
)
delete = _job_command(
    "delete",
    jobs.delete,
    "deleted {name}",
    "Delete the job NAME (it is not cancelled: cancel it first to stop it).",
)


def _name(name: str) -> str:
    """A job's name, ``batches/`` added to a bare id."""
    return name if name.startswith("batches/") else f"batches/{name}"


def _on_job(connection: Connection, name: str, call: Callable[..., Awaitable[T]]) -> T:
    """``call(job, client=...)`` on the job NAME; a NOT_FOUND says the job is unknown (not,
    as for embed, a model)."""

    async def run(client: TextServiceClient) -> T:
        try:
            return await call(_name(name), client=client)
        except NotFound as exc:
            raise NoSuchJobError(
                f"NOT_FOUND: {exc.message or _name(name)}\n"
                "'textservice batch list' lists the jobs of the key's project"
            ) from exc

    return run_call(connection.over_rest(), run)
