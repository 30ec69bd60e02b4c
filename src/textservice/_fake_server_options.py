"""The fake server's command-line options, in one table.

``python -m textservice.testing`` (argparse) and ``textservice fake-server`` (click) both
build their options from ``FAKE_SERVER_OPTIONS`` and hand what they parsed, the same values
under the same names (``FakeServerOption.dest``), to ``textservice.testing.__main__.run``. This
module is a standard-library-only leaf: the ``textservice`` command imports it when it starts,
without loading the testing kit. Values are checked by ``FakeServer`` and
``textservice.testing.quotas.Quotas``, the places that know what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FAKE_API_KEY_ENV",
    "FAKE_SERVER_OPTIONS",
    "QUOTA_OPTIONS",
    "FakeServerOption",
    "OptionKind",
]

OptionKind = Literal["text", "int", "float", "flag", "choice", "repeated"]

FAKE_API_KEY_ENV = "TEXTSERVICE_FAKE_API_KEY"
"""The environment variable holding the key ``--require-api-key`` asks for (kept out of the
process list)."""


@dataclass(frozen=True)
class FakeServerOption:
    """One option: its flag, its value kind, default and help; a quota option also names the
    ``textservice.testing.quotas.Quotas`` field it sets."""

    flag: str
    """e.g. ``"--rpm"``."""
    kind: OptionKind
    """``"flag"`` options take no value (given: ``True``); ``"repeated"`` ones collect every
    value given (a tuple, empty when none)."""
    help: str
    metavar: str = ""
    default: str | int | None = None
    low: int | None = None
    """The smallest ``int`` taken (``None``: any)."""
    high: int | None = None
    """The largest ``int`` taken (``None``: any)."""
    choices: tuple[str, ...] = ()
    field: str | None = None
    """The ``Quotas`` field a quota option sets (``None``: not a quota option). A flag sets
    it to ``False``."""
    name: str | None = None
    """The parsed value's name when not the flag's (``--model``: ``models``)."""

    @property
    def dest(self) -> str:
        """The parsed value's name (``"--no-retry-info"`` -> ``"no_retry_info"``)."""
        return self.name or self.flag.lstrip("-").replace("-", "_")

    def bounds(self) -> str:
        """The range of an ``int`` option, for messages (``""``: any int)."""
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f">= {self.low}"
        return f"from {self.low} to {self.high}"


FAKE_SERVER_OPTIONS: tuple[FakeServerOption, ...] = (
    FakeServerOption("--host", "text", "address to listen on", "HOST", default="127.0.0.1"),
    FakeServerOption(
        "--port", "int", "gRPC port, 0 for a free one", "PORT", 50051, low=0, high=65535
    ),
    FakeServerOption(
        "--rest-port",
        "int",
        "also serve the REST face (HTTP/JSON, what google-genai speaks) on this port, 0 for a "
        "free one (default: gRPC only)",
        "PORT",
        low=0,
        high=65535,
    ),
    FakeServerOption(
        "--dimension",
        "int",
        "embedding length of every model (default: each model's own: 3072 for "
        "models/gemini-embedding-2 and -001, 768 for the others)",
        "N",
    ),
    FakeServerOption(
        "--model",
        "repeated",
        "a model to serve (repeatable; default: the catalogue's, "
        "textservice.testing.DEFAULT_KNOWN_MODELS); tunedModels/... are always served",
        "NAME",
        name="models",
    ),
    FakeServerOption("--any-model", "flag", "serve every well-formed model name"),
    FakeServerOption(
        "--strict-methods",
        "flag",
        "answer NOT_FOUND, as the API does, for a model whose supported generation methods "
        "lack the RPC's (default: every served model works through every RPC)",
    ),
    FakeServerOption(
        "--strict-models",
        "flag",
        "answer INVALID_ARGUMENT for fields a model ignores (task_type and title sent to "
        "models/gemini-embedding-2, which takes the task in the text); default: accepted and "
        "ignored, as the API does",
    ),
    FakeServerOption(
        "--require-api-key",
        "flag",
        f"require x-goog-api-key to equal ${FAKE_API_KEY_ENV} (read from the environment, so "
        "the key never shows in the process list)",
    ),
    FakeServerOption(
        "--batch-seconds",
        "float",
        "how long a Batch mode job runs before it succeeds, on the REST face (default: "
        "textservice.testing.batch_mode.BATCH_SECONDS, 2)",
        "S",
    ),
    FakeServerOption(
        "--rpm",
        "int",
        "quota: requests per minute, for each method and model",
        "N",
        field="requests_per_minute",
    ),
    FakeServerOption(
        "--tpm",
        "int",
        "quota: input tokens per minute, for each method and model "
        "(a text counts ceil(UTF-8 bytes / 4) tokens)",
        "N",
        field="tokens_per_minute",
    ),
    FakeServerOption(
        "--texts-per-minute",
        "int",
        "quota: texts per minute, for each method and model",
        "N",
        field="texts_per_minute",
    ),
    FakeServerOption(
        "--rpd",
        "int",
        "quota: requests per day, for each method and model",
        "N",
        field="requests_per_day",
    ),
    FakeServerOption(
        "--no-retry-info",
        "flag",
        "answer over-quota calls without a RetryInfo delay (the API sometimes omits it)",
        field="retry_info",
    ),
    FakeServerOption(
        "--no-quota-value",
        "flag",
        "leave the limit (quota_value) out of the QuotaFailure (the API sometimes does)",
        field="send_quota_value",
    ),
    FakeServerOption(
        "--quota-window",
        "choice",
        "how per-minute quotas count: fixed minutes (as Google Cloud's rate quotas: all "
        "of it frees at the next minute) or a sliding 60 s window (default: fixed)",
        "KIND",
        choices=("fixed", "sliding"),
        field="window",
    ),
    FakeServerOption(
        "--time-scale",
        "float",
        "run the quota clock this many times faster (60: a quota minute lasts 1 s, a day "
        "24 min); RetryInfo delays are in real seconds (default: 1)",
        "X",
        field="time_scale",
    ),
)
"""Every option of the fake server, in the order ``--help`` lists them."""

QUOTA_OPTIONS: tuple[FakeServerOption, ...] = tuple(
    option for option in FAKE_SERVER_OPTIONS if option.field is not None
)
"""The quota options (those that set a ``Quotas`` field)."""
