"""One exception hierarchy for every failed TextService call.

Every failure the server reports, and every failure on the way to it (a dropped connection, a
deadline, an undecodable response), reaches the caller as a :class:`TextServiceError` subclass
named for its gRPC status code, the same way from sync and async calls. The error carries the
code, the server's message, the decoded status details (``RetryInfo``, ``QuotaFailure``, …) and
the retry delay the server asked for. Errors of an embedding of many texts also carry what was
computed and not yet handed over (:class:`PartialEmbeddings`), so nothing computed is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from grpclib.const import Status as Status

if TYPE_CHECKING:
    from typing import TypeAlias

    from textservice._numpy import Float32Array

    Vector: TypeAlias = list[float] | Float32Array
    """One text's embedding: floats, or a ``(dim,)`` float32 array (``output="numpy"``)."""

# What callers catch and read, re-exported by ``textservice`` as it is. ``Status`` (grpclib's,
# the type of ``code``) and ``error_for_status`` are importable from here by name.
__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "ClientClosedError",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "MissingAPIKeyError",
    "NotFound",
    "OutOfRange",
    "PartialEmbeddings",
    "PermissionDenied",
    "ResourceExhausted",
    "TextServiceError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
]


class MissingAPIKeyError(ValueError):
    """No API key was given (argument or ``GOOGLE_API_KEY``) for an endpoint that needs one."""


@dataclass(frozen=True)
class PartialEmbeddings:
    """What a failed embedding call had computed and not yet handed to the caller.

    Every input index in ``range(total)`` is in exactly one of three places:

    - ``range(delivered)``: texts an iterator (``iter_embeddings``) already yielded, in input
      order, before the failure. Their vectors are not kept here (keeping every yielded vector
      would make an iterator's memory grow with its input): to resume, embed
      ``texts[delivered:]`` minus what ``embeddings`` holds. Always 0 for ``generate_embeddings``.
    - ``embeddings``: the vectors computed but not delivered, by input index. For
      ``generate_embeddings`` that is every text whose batch succeeded; for an iterator, the
      batches that finished after the failed one but were held back to keep input order.
    - :attr:`failed_indices`: everything else (failed, cancelled or never attempted).
    """

    total: int
    """How many texts the call was given (for an input of unknown length read as it goes,
    how many were read before the failure)."""
    embeddings: Mapping[int, Vector] = field(repr=False)
    """Input index -> vector, for the texts computed and not yet delivered."""
    delivered: int = 0
    """Texts an iterator yielded before the failure: indices ``0 .. delivered - 1``."""

    def __post_init__(self) -> None:
        if not 0 <= self.delivered <= self.total:
            raise ValueError(f"delivered must be in 0..{self.total}, got {self.delivered}")

    @property
    def succeeded_indices(self) -> list[int]:
        """Input indices that were embedded (delivered, or in ``embeddings``), ascending."""
        held = sorted(i for i in self.embeddings if i >= self.delivered)
        return [*range(self.delivered), *held]

    @property
    def failed_indices(self) -> list[int]:
        """Input indices without a vector (failed or never attempted), ascending: what a
        retry must embed again."""
        return [i for i in range(self.delivered, self.total) if i not in self.embeddings]

    def describe(self) -> str:
        """A one-line summary such as ``200 of 1000 texts embedded (indices 0-199)``."""
        held = sorted(self.embeddings)
        count = self.delivered + len(held)
        if not self.delivered:
            ranges = _ranges(held) if held else "none"
            return f"{count} of {self.total} texts embedded (indices {ranges})"
        yielded = "0" if self.delivered == 1 else f"0-{self.delivered - 1}"
        text = (
            f"{count} of {self.total} texts embedded: {self.delivered} yielded (indices {yielded})"
        )
        if held:
            text += f", {len(held)} held back (indices {_ranges(held)})"
        return text


_BY_STATUS: dict[Status, type[TextServiceError]] = {}
"""The class of each status code, filled by the class statements below (``code=``)."""


class TextServiceError(Exception):
    """A TextService call failed; the subclass names the gRPC status code.

    Attributes: ``code`` (:class:`grpclib.const.Status`), ``message`` (the server's or the
    client's explanation), ``details`` (decoded ``google.rpc`` detail messages),
    ``retry_delay`` (seconds from a ``RetryInfo`` detail, or ``None``) and ``partial``
    (:class:`PartialEmbeddings` when an embedding of many texts, a list or an iterator, failed
    part-way, else ``None``).
    """

    default_code: ClassVar[Status] = Status.UNKNOWN
    """The code of an error made without one (set by the class's ``code=``)."""

    def __init_subclass__(cls, *, code: Status | None = None, **kwargs: Any) -> None:
        """``class NotFound(TextServiceError, code=Status.NOT_FOUND)``: the class of that
        status code (its ``default_code``, and what ``error_for_status`` makes for it). A
        subclass without ``code=`` keeps its parent's code and does not replace it."""
        super().__init_subclass__(**kwargs)
        if code is None:
            return
        if code in _BY_STATUS:
            raise TypeError(
                f"{cls.__name__}: {_BY_STATUS[code].__name__} is already the class of {code.name}"
            )
        cls.default_code = code
        _BY_STATUS[code] = cls

    def __init__(
        self,
        message: str,
        *,
        code: Status | None = None,
        details: Sequence[Any] = (),
        partial: PartialEmbeddings | None = None,
    ) -> None:
        self.code: Status = code if code is not None else self.default_code
        self.message = message
        self.details: list[Any] = list(details)
        self.retry_delay: float | None = _retry_delay(self.details)
        self.partial = partial
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"{self.code.name}: {self.message}" if self.message else self.code.name
        if self.retry_delay is not None:
            text += f" (server asked to retry after {self.retry_delay:g} s)"
        if self.partial is not None:
            text += f"; {self.partial.describe()}; " + (
                "the vectors not yet yielded are in .partial.embeddings"
                if self.partial.delivered
                else "their vectors are in .partial.embeddings"
            )
            text += ", the rest are listed in .partial.failed_indices"
        return text

    def with_partial(self, partial: PartialEmbeddings) -> TextServiceError:
        """A copy of this error (same class, code, message, details) carrying ``partial``."""
        copy = type(self)(self.message, code=self.code, details=self.details, partial=partial)
        copy.__cause__ = self.__cause__
        copy.__suppress_context__ = self.__suppress_context__
        return copy

    @property
    def is_daily_quota(self) -> bool:
        """Whether a ``QuotaFailure`` detail names a per-day limit (waiting will not help)."""
        return any(_DAILY.search(text) for text in _quota_texts(self.details))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.message, self.code, self.details, self.partial),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.name}, message={self.message!r})"


def _rebuild(
    cls: type[TextServiceError],
    message: str,
    code: Status,
    details: list[Any],
    partial: PartialEmbeddings | None,
) -> TextServiceError:
    return cls(message, code=code, details=details, partial=partial)


class Cancelled(TextServiceError, code=Status.CANCELLED):
    """The call was cancelled (for example because its client was closed)."""


class ClientClosedError(Cancelled, RuntimeError):
    """A call was made on a closed ``Client``; nothing was sent.

    A :class:`Cancelled` (code ``CANCELLED``, like the calls a ``close()`` cancels), and a
    ``RuntimeError``, which this error was before it had a class of its own.
    """


class Unknown(TextServiceError, code=Status.UNKNOWN):
    """The server reported an unknown error."""


class InvalidArgument(TextServiceError, code=Status.INVALID_ARGUMENT):
    """The server rejected the request's contents."""


class DeadlineExceeded(TextServiceError, code=Status.DEADLINE_EXCEEDED):
    """The call's timeout expired before it finished (retries included)."""


class NotFound(TextServiceError, code=Status.NOT_FOUND):
    """The model or resource does not exist."""


class AlreadyExists(TextServiceError, code=Status.ALREADY_EXISTS):
    """The resource already exists."""


class PermissionDenied(TextServiceError, code=Status.PERMISSION_DENIED):
    """The API key may not use this resource."""


class ResourceExhausted(TextServiceError, code=Status.RESOURCE_EXHAUSTED):
    """A quota or rate limit was hit; see ``retry_delay``, ``is_daily_quota``, ``quota_id``
    and ``quota_value``."""

    @property
    def quota_id(self) -> str | None:
        """The ``quota_id`` a ``QuotaFailure`` detail names (a per-day one first), if any:
        e.g. ``BatchEmbedContentsRequestsPerDayPerProjectPerModel``."""
        violation = _violation(self.details)
        if violation is None:
            return None
        quota_id: str = violation.quota_id
        return quota_id or None

    @property
    def quota_value(self) -> int | None:
        """The limit of that quota, when the server said (``None`` otherwise)."""
        violation = _violation(self.details)
        if violation is None:
            return None
        value: int = violation.quota_value
        return value or None  # 0 on the wire: not said


class FailedPrecondition(TextServiceError, code=Status.FAILED_PRECONDITION):
    """The system is not in a state required for the operation."""


class Aborted(TextServiceError, code=Status.ABORTED):
    """The operation was aborted."""


class OutOfRange(TextServiceError, code=Status.OUT_OF_RANGE):
    """A value was outside its valid range."""


class Unimplemented(TextServiceError, code=Status.UNIMPLEMENTED):
    """The server does not implement this method."""


class Internal(TextServiceError, code=Status.INTERNAL):
    """An internal error, on the server or while decoding its response."""


class Unavailable(TextServiceError, code=Status.UNAVAILABLE):
    """The service could not be reached or dropped the connection; usually transient."""


class DataLoss(TextServiceError, code=Status.DATA_LOSS):
    """Unrecoverable data loss or corruption."""


class Unauthenticated(TextServiceError, code=Status.UNAUTHENTICATED):
    """The request has no valid API key."""


def error_for_status(code: Status, message: str, details: Sequence[Any] = ()) -> TextServiceError:
    """The :class:`TextServiceError` subclass instance for ``code`` (``Unknown`` for ``OK``)."""
    cls = _BY_STATUS.get(code, Unknown)
    return cls(message, code=code if code in _BY_STATUS else Status.UNKNOWN, details=details)


_DAILY = re.compile(r"per\s*day|daily", re.IGNORECASE)


def _quota_texts(details: Sequence[Any]) -> list[str]:
    # Imported here: the generated google.rpc module is only needed once an error has details.
    from textservice._proto.google.rpc import QuotaFailure

    texts: list[str] = []
    for detail in details:
        if isinstance(detail, QuotaFailure):
            for v in detail.violations:
                texts += [v.quota_id, v.quota_metric, v.description, v.subject]
    return texts


def _violation(details: Sequence[Any]) -> Any:
    """The first ``QuotaFailure`` violation naming a per-day quota, else the first one."""
    from textservice._proto.google.rpc import QuotaFailure

    violations = [v for d in details if isinstance(d, QuotaFailure) for v in d.violations]
    daily = (
        v
        for v in violations
        if any(_DAILY.search(t) for t in (v.quota_id, v.quota_metric, v.description))
    )
    return next(daily, violations[0] if violations else None)


def _retry_delay(details: Sequence[Any]) -> float | None:
    from textservice._proto.google.rpc import RetryInfo

    for detail in details:
        if isinstance(detail, RetryInfo) and detail.retry_delay is not None:
            return max(0.0, detail.retry_delay.total_seconds())
    return None


def _ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"`` (shortened past a few ranges)."""
    parts: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
        if i is not None:
            start = prev = i
    if len(parts) > 6:
        parts = [*parts[:3], "…", *parts[-2:]]
    return ", ".join(parts)
