"""Which columns (or JSONL keys) of the input ``textservice embed`` reads, and which of the
column options apply to which input format.

``--text-column``, ``--id-column``, ``--title-column`` and ``--file-column`` name a column of
CSV, TSV or Parquet input, or a key of JSONL input; ``--keep-columns`` names columns (keys) to
carry into the output. Text lines and folders have no columns: each of these options is a usage
error there, named with the format, rather than quietly ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COLUMN_FORMATS",
    "RESERVED_OUTPUT_NAMES",
    "Columns",
    "KeptColumn",
    "KeptKinds",
    "parse_keep_columns",
]

COLUMN_FORMATS = frozenset({"jsonl", "csv", "tsv", "parquet"})
"""The input formats that have columns (keys)."""

RESERVED_OUTPUT_NAMES = frozenset({"id", "digest", "key", "embedding"})
"""The output's own columns (keys): a kept column cannot take one of these names."""

_FORMAT_NAMES = {
    "lines": "text lines (each line a text, its id its line number)",
    "folder": "a folder (each file a record, its id its path)",
}


def parse_keep_columns(value: str | None) -> tuple[str, ...]:
    """``--keep-columns a,b`` as its names; ``ValueError`` for an empty, repeated or reserved
    name."""
    if value is None:
        return ()
    names = tuple(name.strip() for name in value.split(","))
    if any(not name for name in names):
        raise ValueError(f"{value!r}: an empty column name (give names separated by commas)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} named twice")
    reserved = [name for name in names if name in RESERVED_OUTPUT_NAMES]
    if reserved:
        raise ValueError(
            f"{', '.join(reserved)}: the output has its own {', '.join(reserved)} (its columns: "
            f"{', '.join(sorted(RESERVED_OUTPUT_NAMES))}); rename the input's column"
        )
    return names


@dataclass(frozen=True)
class Columns:
    """The column options as given (``None``: not given) and the columns to keep."""

    text: str | None = None
    id: str | None = None
    title: str | None = None
    file: str | None = None
    keep: tuple[str, ...] = ()

    @property
    def text_name(self) -> str:
        """The column (key) of the texts: ``--text-column``, default ``text``."""
        return self.text if self.text is not None else "text"

    def given(self) -> list[str]:
        """The options given, as the user spells them."""
        options = [
            ("--text-column", self.text),
            ("--id-column", self.id),
            ("--title-column", self.title),
            ("--file-column", self.file),
            ("--keep-columns", ",".join(self.keep) or None),
        ]
        return [option for option, value in options if value is not None]

    def misplaced(self, fmt: str, name: str) -> str | None:
        """Why the options given do not apply to input ``name`` read as ``fmt`` (``None``:
        they do)."""
        given = self.given()
        if fmt in COLUMN_FORMATS or not given:
            return None
        described = _FORMAT_NAMES.get(fmt, fmt)
        how = (
            ""
            if fmt == "folder"
            else "; --format jsonl, csv or tsv reads it otherwise, if it is one of those"
        )
        return (
            f"{' and '.join(given)}: {name} is read as {described}, which has no columns "
            f"(they are for JSONL keys, CSV, TSV and Parquet columns){how}"
        )


@dataclass(frozen=True)
class KeptColumn:
    """A column carried into the output, and the type of its values there."""

    name: str
    kind: str
    """``string``, ``int64``, ``float64``, ``bool``, ``json`` (any other JSON value, or a mix:
    written as JSON text in Parquet) or ``arrow`` (a Parquet input's column, kept as its
    ``arrow_type``)."""
    arrow_type: object = None


class KeptKinds:
    """The kind of each kept JSONL key over every record (see :class:`KeptColumn`)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names
        self._kinds: list[set[str]] = [set() for _ in names]

    def add(self, values: tuple[object, ...]) -> None:
        """Take one record's kept values in."""
        for kinds, value in zip(self._kinds, values, strict=True):
            if value is not None:
                kinds.add(_json_kind(value))

    def columns(self) -> tuple[KeptColumn, ...]:
        """Each kept column with the one kind that holds all its values."""
        return tuple(
            KeptColumn(name, _common_kind(kinds))
            for name, kinds in zip(self._names, self._kinds, strict=True)
        )


_INT64 = range(-(2**63), 2**63)


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64" if value in _INT64 else "json"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "json"


def _common_kind(kinds: set[str]) -> str:
    if not kinds:
        return "string"  # only nulls
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int64", "float64"}:
        return "float64"
    return "json"
