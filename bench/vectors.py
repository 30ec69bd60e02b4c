"""The expected embedding of a text: one pluggable function shared by the server and the checks.

``load(source)`` picks it:
- ``fake``: ``textservice.testing.expected_embedding(model, text, dim=768)`` (the fake server's
  own, so the bench checks contenders against the same vectors as the contract tests);
- ``bench``: the stand-in below (hash-seeded, deterministic float32), used until the fake lands;
- ``auto`` (default): ``fake`` when importable, else ``bench``. RESULTS.md names the one used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
ExpectedEmbedding = Callable[[str, str, int], Vector]


def bench_expected_embedding(model: str, text: str, dim: int = 768) -> Vector:
    """A deterministic float32 vector seeded by a hash of ``model`` and ``text``."""
    seed = hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:8]
    rng = np.random.default_rng(int.from_bytes(seed, "little"))
    return rng.standard_normal(dim, dtype=np.float32)


def load(source: str = "auto") -> tuple[ExpectedEmbedding, str]:
    """The expected-embedding function for ``source`` and a label naming it."""
    if source not in ("auto", "fake", "bench"):
        raise ValueError(f"vectors source must be auto, fake or bench, not {source!r}")
    if source in ("auto", "fake"):
        try:
            from textservice.testing import expected_embedding
        except ImportError:
            if source == "fake":
                raise
        else:

            def fake(model: str, text: str, dim: int = 768) -> Vector:
                raw = expected_embedding(model, text, dim=dim)
                vector = np.asarray(raw, dtype=np.float32)
                exact = np.array_equal(vector, np.asarray(raw, dtype=np.float64))
                if vector.shape != (dim,) or not exact:
                    raise TypeError(
                        f"expected_embedding returned shape {vector.shape} (exact float32: "
                        f"{exact}), not ({dim},) float32 values"
                    )
                return vector

            return fake, "textservice.testing.expected_embedding (the fake's)"
    return bench_expected_embedding, "bench/vectors.py stand-in (textservice.testing not found)"
