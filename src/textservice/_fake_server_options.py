"""The command-line options of the fake server's quotas, in one table.

``python -m textservice.testing`` (argparse) and ``textservice fake-server`` (click) both
build their quota options from ``QUOTA_OPTIONS``, so the two commands take the same ones.
This module is a standard-library-only leaf: the ``textservice`` command imports it when it
starts, without loading the testing kit. Values are checked by
``textservice.testing.quotas.Quotas``, the one place that knows what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

OptionKind = Literal["int", "float", "flag", "choice"]


@dataclass(frozen=True)
class QuotaOption:
    """One quota option: its flag, the ``Quotas`` field it sets, its value kind and help."""

    flag: str
    """e.g. ``"--rpm"``."""
    field: str
    """The ``textservice.testing.quotas.Quotas`` field it sets."""
    kind: OptionKind
    """``"flag"`` options take no value; given, they set the field to ``False``."""
    help: str
    metavar: str = ""
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """The parsed value's name (``"--no-retry-info"`` -> ``"no_retry_info"``)."""
        return self.flag.lstrip("-").replace("-", "_")


QUOTA_OPTIONS: tuple[QuotaOption, ...] = (
    QuotaOption(
        "--rpm",
        "requests_per_minute",
        "int",
        "quota: requests per minute, for each method and model",
        "N",
    ),
    QuotaOption(
        "--tpm",
        "tokens_per_minute",
        "int",
        "quota: input tokens per minute, for each method and model "
        "(a text counts ceil(UTF-8 bytes / 4) tokens)",
        "N",
    ),
    QuotaOption(
        "--texts-per-minute",
        "texts_per_minute",
        "int",
        "quota: texts per minute, for each method and model",
        "N",
    ),
    QuotaOption(
        "--rpd",
        "requests_per_day",
        "int",
        "quota: requests per day, for each method and model",
        "N",
    ),
    QuotaOption(
        "--no-retry-info",
        "retry_info",
        "flag",
        "answer over-quota calls without a RetryInfo delay (the API sometimes omits it)",
    ),
    QuotaOption(
        "--no-quota-value",
        "send_quota_value",
        "flag",
        "leave the limit (quota_value) out of the QuotaFailure (the API sometimes does)",
    ),
    QuotaOption(
        "--quota-window",
        "window",
        "choice",
        "how per-minute quotas count: fixed minutes (as Google Cloud's rate quotas: all "
        "of it frees at the next minute) or a sliding 60 s window (default: fixed)",
        "KIND",
        ("fixed", "sliding"),
    ),
    QuotaOption(
        "--time-scale",
        "time_scale",
        "float",
        "run the quota clock this many times faster (60: a quota minute lasts 1 s, a day "
        "24 min); RetryInfo delays are in real seconds (default: 1)",
        "X",
    ),
)
"""Every quota option, in the order ``--help`` lists them."""


def quota_argv(given: Mapping[str, object]) -> list[str]:
    """The command-line form of the options in ``given`` (keyed by ``QuotaOption.dest``).

    ``None`` (or a missing key) means "not given"; a flag option is given when ``True``.
    """
    argv: list[str] = []
    for option in QUOTA_OPTIONS:
        value = given.get(option.dest)
        if value is None or value is False:
            continue
        if option.kind == "flag":
            if value is not True:
                raise TypeError(f"{option.flag} takes no value, got {value!r}")
            argv.append(option.flag)
        else:
            argv += [option.flag, str(value)]
    return argv
