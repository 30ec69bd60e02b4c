"""The errors of the ``textservice`` command's own making; their exit codes are in
:mod:`textservice.cli.exit_codes`."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CliError",
    "DimensionChangedError",
    "InputChangedError",
    "InputError",
    "OutputBusyError",
    "OutputConflictError",
]


class CliError(Exception):
    """A failure the command explains in its own words (its message is shown as it is)."""


class InputError(CliError):
    """The input cannot be read as asked (not Parquet, no such column, changed meanwhile)."""


class OutputConflictError(CliError):
    """An existing output or partial file is corrupt or does not belong to this input."""


class InputChangedError(OutputConflictError):
    """An earlier run's results are sound but were made from another input, model or
    options: a rerun reuses what it can of them (:mod:`textservice.cli.reuse`)."""


class OutputBusyError(OutputConflictError):
    """Another run is writing the same output (it holds the output's lock)."""


class NoSuchJobError(CliError):
    """The server has no Batch mode job of the name given (its ``NOT_FOUND``)."""


class DimensionChangedError(CliError):
    """The server sent embeddings of another length than before for the same model and
    options: a fault of the server (or a change on its side), not of the output."""

    def __init__(self, message: str, *, earlier: Path | None = None) -> None:
        super().__init__(message)
        self.earlier = earlier
        """The earlier run's results whose length differs (``None``: this run's)."""
