"""Which writer ``textservice embed --output`` gets: standard output, JSONL, ``.npy`` or
Parquet (see :mod:`textservice.cli.outputs` for what they share)."""

from __future__ import annotations

from pathlib import Path

from textservice.cli.digests import VectorSettings
from textservice.cli.npy_output import NpyFile
from textservice.cli.outputs import JsonlFile, ResultWriter, StdoutOutput, output_kind
from textservice.cli.parquet_output import ParquetOutput
from textservice.cli.sources import InputCheck

__all__ = ["open_output"]


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
