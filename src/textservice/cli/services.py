"""Which service ``textservice embed`` calls, and the options that decide its vectors.

Today's embedding models (``models/gemini-embedding-2``, the default, and
``models/gemini-embedding-001``) are served by
GenerativeService (BatchEmbedContents, through ``textservice.v1beta.iter_embed_content_async``);
the retired ``models/embedding-gecko-*`` by the legacy TextService (BatchEmbedText, through
``iter_embeddings_async``). ``--service`` forces either. Only GenerativeService takes a task
type, an output dimensionality and titles; ``--normalize`` is offered with it only too (it is
what Google asks for shortened vectors), so with TextService each is a usage error rather
than silently ignored.

Every check here runs before anything is sent or created: the options' own (a click
callback), then, once the input's first pass has counted its titles, :meth:`EmbedOptions.for_input`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import click

from textservice._profiles import (
    GEMINI_EMBEDDING_2,
    PROFILES,
    TASK_NAMES,
    TASK_TYPE_ALIASES,
    TITLED_TASK,
    profile_for,
    takes_title,
    task_name,
)
from textservice._routes import uses_text_service
from textservice.cli.digests import VectorSettings
from textservice.cli.inputs import Record
from textservice.client import Client

__all__ = [
    "SERVICE_CHOICES",
    "EmbedBatches",
    "EmbedOptions",
    "Service",
    "content_item",
    "embedded",
    "parse_task_type",
    "pick_service",
]

EmbedBatches = Callable[[Iterator[Record]], AsyncIterator[Any]]
"""Given records (read as it goes), yields their embeddings batch by batch, in input order:
one ``iter_embed_content_async`` (or ``iter_embeddings_async``) call over the whole stream."""

Service = Literal["generative", "text"]
SERVICE_CHOICES = ("auto", "generative", "text")
"""``--service``'s values."""

_TEXT_ONLY = "TextService (--service text, or a models/embedding-gecko-* model)"


def pick_service(model: str, choice: str) -> Service:
    """The service for ``model`` under ``--service choice``."""
    if choice == "generative":
        return "generative"
    if choice == "text":
        return "text"
    return "text" if uses_text_service(model) else "generative"


def task_type_help() -> str:
    """``--task-type``'s help, from the task table: each name, its short alias, the title
    rule, and the models that take the task in their text."""
    alias_of = {name: alias for alias, name in TASK_TYPE_ALIASES.items()}
    names = ", ".join(
        f"{name.lower()} ({alias_of[name]})" if name in alias_of else name.lower()
        for name in TASK_NAMES
    )
    in_text = ", ".join(f"models/{p.family}" for p in PROFILES.values() if p.task_in_text)
    return (
        f"What the vectors are for (GenerativeService): {names}; any case. Titles need "
        f"{TITLED_TASK.lower()} (the default when the input has titles). {in_text} gets it "
        "as instruction text, never as a request field."
    )


def dimensionality_help() -> str:
    """``--output-dimensionality``'s help, from today's model's profile."""
    model = GEMINI_EMBEDDING_2
    assert model.dimensions is not None and model.default_dimension is not None
    low, high = model.dimensions
    return (
        f"Keep the first N values of each vector (GenerativeService; {model.family} takes "
        f"{low:,}-{high:,} of its {model.default_dimension:,}) [default: the model's length]."
    )


def parse_task_type(value: str | None) -> str | None:
    """``--task-type``'s value as the member's name (``"RETRIEVAL_DOCUMENT"``), by the
    library's rule (``textservice._profiles.task_name``: the name or a short alias, any
    case); ``click.BadParameter`` otherwise."""
    if value is None:
        return None
    name = task_name(value)
    if name in TASK_NAMES:
        return name
    # Not the library's message: it offers numbers, which a command line never passes.
    raise click.BadParameter(
        f"{value!r} is not a task type: one of {', '.join(n.lower() for n in TASK_NAMES)}, "
        f"or the short names {', '.join(TASK_TYPE_ALIASES)} (any case)",
        param_hint="--task-type",
    )


def content_item(record: Record) -> str | Path | Mapping[str, Any]:
    """The item ``embed_content`` takes for ``record``: its text, its file, or either with its
    title."""
    if record.file is not None:
        return (
            record.file if record.title is None else {"parts": [record.file], "title": record.title}
        )
    return record.text if record.title is None else {"text": record.text, "title": record.title}


@dataclass(frozen=True)
class EmbedOptions:
    """The model, the service and the options that decide ``textservice embed``'s vectors."""

    model: str
    service: Service
    task_type: str | None = None
    """The task type's member name, or ``None`` (none sent)."""
    output_dimensionality: int | None = None
    normalize: bool = False

    @classmethod
    def checked(
        cls,
        model: str,
        choice: str,
        task_type: str | None,
        output_dimensionality: int | None,
        normalize: bool,
    ) -> EmbedOptions:
        """The options, or ``click.UsageError`` for one TextService does not take."""
        options = cls(
            model, pick_service(model, choice), task_type, output_dimensionality, normalize
        )
        if options.service == "generative" and output_dimensionality is not None:
            flag = "--output-dimensionality"
            error = profile_for(model).dimensionality_error(output_dimensionality, model, flag)
            if error is not None:
                raise click.BadParameter(error)
        if options.service == "text":
            given = [
                flag
                for flag, value in (
                    ("--task-type", task_type),
                    ("--output-dimensionality", output_dimensionality),
                    ("--normalize", normalize or None),
                )
                if value is not None
            ]
            if given:
                raise click.UsageError(
                    f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} "
                    f"GenerativeService; {model} is embedded by {_TEXT_ONLY}, which has no such "
                    "option (use a model such as models/gemini-embedding-2, or --service "
                    "generative)"
                )
        return options

    def for_input(self, titles: int, files: int = 0) -> tuple[EmbedOptions, str | None]:
        """These options for an input with ``titles`` titled records and ``files`` media
        files: with the task type titles need when none was given (and a note saying so), or
        ``click.UsageError`` (also for files to a model that embeds text only)."""
        if files and (self.service == "text" or profile_for(self.model).media is None):
            raise click.UsageError(
                f"the input has media files ({files}), but {self.model} embeds text only "
                "(use -m models/gemini-embedding-2)"
            )
        if not titles:
            return self, None
        titled = f"the input has titles ({titles} record{'' if titles == 1 else 's'})"
        if self.service == "text":
            raise click.UsageError(
                f"{titled}, which only GenerativeService takes; "
                f"{self.model} is embedded by {_TEXT_ONLY}"
            )
        if self.task_type is None:
            note = (
                f"{titled}: embedding with --task-type "
                f"{TITLED_TASK.lower()}, the only task type titles go with"
            )
            return replace(self, task_type=TITLED_TASK), note
        if not takes_title(self.task_type):
            raise click.UsageError(
                f"{titled}, which the API takes only with "
                f"--task-type {TITLED_TASK.lower()}, not {self.task_type.lower()} (remove the "
                "titles, or change the task type)"
            )
        return self, None

    def settings(self, *, fake: bool) -> VectorSettings:
        """What goes into every digest (TextService's as before these options existed)."""
        return VectorSettings(
            self.model,
            server="fake" if fake else None,
            service="generative" if self.service == "generative" else None,
            task_type=self.task_type,
            output_dimensionality=self.output_dimensionality,
            normalize=True if self.normalize else None,
        )

    def batches(
        self,
        client: Client,
        *,
        batch_size: int,
        output: Literal["list", "numpy"],
    ) -> EmbedBatches:
        """Records -> their embeddings batch by batch, through this service (v1beta's): the
        library reads the records as it sends them (memory bounded by the calls in flight)."""
        from textservice.v1beta import iter_embed_content_async, iter_embeddings_async

        if self.service == "text":

            def by_text(records: Iterator[Record]) -> AsyncIterator[Any]:
                return iter_embeddings_async(
                    self.model,
                    (r.text for r in records),
                    client=client,
                    batch_size=batch_size,
                    output=output,
                )

            return by_text

        def by_content(records: Iterator[Record]) -> AsyncIterator[Any]:
            return iter_embed_content_async(
                self.model,
                (content_item(r) for r in records),
                task_type=self.task_type,
                output_dimensionality=self.output_dimensionality,
                client=client,
                batch_size=batch_size,
                output=output,
                normalize=self.normalize,
            )

        return by_content


async def embedded(
    records: Iterator[Record], embed: EmbedBatches
) -> AsyncGenerator[tuple[list[Record], Any], None]:
    """``(records, vectors)`` for each batch ``embed`` yields, in input order: one call over
    the whole stream, each batch paired with the records it was made from. Only the records
    read but not yet delivered are held (the library's calls in flight and its batches
    waiting for order). Closing this closes the call, cancelling what is in flight."""
    taken: deque[Record] = deque()

    def read() -> Iterator[Record]:
        for record in records:
            taken.append(record)
            yield record

    async with aclosing(embed(read())) as batches:  # type: ignore[type-var]
        async for vectors in batches:
            count = len(vectors)
            if count > len(taken):
                raise RuntimeError(f"got {count} embeddings for the {len(taken)} texts read")
            yield [taken.popleft() for _ in range(count)], vectors
