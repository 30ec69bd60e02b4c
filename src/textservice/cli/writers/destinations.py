"""Which writer ``textservice embed --output`` gets: standard output, JSONL, ``.npy`` or
Parquet (see :mod:`textservice.cli.writers.jsonl` for what they share)."""

from __future__ import annotations

from pathlib import Path

from textservice.cli.digests import VectorSettings
from textservice.cli.reuse import Earlier
from textservice.cli.sources import InputCheck
from textservice.cli.writers.common import ResultWriter, output_kind, partial_path
from textservice.cli.writers.jsonl import JsonlFile, JsonlResults, StdoutOutput
from textservice.cli.writers.npy import NpyFile, NpyResults, ids_path
from textservice.cli.writers.parquet import ParquetOutput, ParquetResults

__all__ = ["earlier_finished", "earlier_unfinished", "open_output"]


def open_output(
    path: str | None,
    check: InputCheck,
    *,
    settings: VectorSettings,
    overwrite: bool,
) -> ResultWriter:
    """The writer for ``--output`` (``None`` or ``"-"``: standard output), inspected."""
    if path is None or path == "-":
        return StdoutOutput(keep=settings.keep_columns or ())
    kind = output_kind(path)
    writer: ResultWriter
    if kind == "npy":
        writer = NpyFile(Path(path), check, overwrite=overwrite)
    elif kind == "parquet":
        writer = ParquetOutput(Path(path), check, overwrite=overwrite)
    else:
        writer = JsonlFile(Path(path), settings=settings, overwrite=overwrite)
    return writer


def earlier_finished(path: Path) -> Earlier | None:
    """The finished output at ``path``, open for reuse (``None``: there is none, or it holds
    no content keys)."""
    if not path.is_file():
        return None
    kind = output_kind(str(path))
    if kind == "npy":
        return NpyResults.finished(path)
    if kind == "parquet":
        return ParquetResults.finished(path)
    return JsonlResults(path)


def earlier_unfinished(folder: Path, output: Path) -> Earlier | None:
    """The unfinished run of ``output`` set aside in ``folder`` (its ``.part`` files as they
    were named), open for reuse (``None``: nothing reusable there)."""
    part = folder / partial_path(output).name
    if not part.exists():
        return None
    kind = output_kind(str(output))
    if kind == "npy":
        return NpyResults.unfinished(part, folder / partial_path(ids_path(output)).name)
    if kind == "parquet":
        return ParquetResults.unfinished(part)
    return JsonlResults(part)
