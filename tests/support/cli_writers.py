"""``textservice embed``'s result writers driven in-process, step by step, as the command
drives them: opened, verified against an input, started, written, closed or finished."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textservice.cli.digests import DigestChain, VectorSettings
from textservice.cli.inputs import Format, Record
from textservice.cli.rerun import verify_earlier
from textservice.cli.sources import TextSource
from textservice.cli.writers.common import ResultWriter
from textservice.cli.writers.destinations import open_output

# float32 values that need all 9 significant digits, and extremes
VECTOR = [struct.unpack("<f", struct.pack("<f", x))[0] for x in (0.1, -1 / 3, 3.4e38, 1e-45, 0.0)]
SETTINGS = VectorSettings("models/m")


@dataclass
class Opened:
    """A started writer and the records it still has to write."""

    writer: ResultWriter
    todo: list[Record]


def fresh(
    path: Path,
    data: bytes,
    *,
    settings: VectorSettings = SETTINGS,
    overwrite: bool = False,
    format: Format = "lines",
) -> Opened:
    """A writer for ``data`` (an input's bytes) to ``path``, verified and started as
    ``textservice embed`` does: the writer and the records still to embed."""
    source = TextSource(lambda: io.BytesIO(data), name="in", format=format)
    check = source.check(lambda bad: None)
    writer = open_output(str(path), check, settings=settings, overwrite=overwrite)
    chain = DigestChain(settings)
    records = list(verify_earlier(writer, source, check, chain))
    writer.start(chain, check.record_count)
    return Opened(writer, records)


def rows(count: int, vector: list[float] = VECTOR) -> np.ndarray:
    """``count`` copies of ``vector`` as a float32 batch."""
    return np.array([vector] * count, np.float32)
