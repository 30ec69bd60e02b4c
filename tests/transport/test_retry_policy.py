"""Retry policy maths: backoff with jitter, RetryInfo, daily quotas, validation."""

from __future__ import annotations

import datetime
import itertools

import pytest
from grpclib.const import Status

from textservice._proto.google import rpc
from textservice.errors import error_for_status
from textservice.retry import Retry


def test_backoff_grows_by_multiplier_up_to_the_cap() -> None:
    policy = Retry()  # the service config's: 1 s x 1.3 up to 10 s
    caps = [policy.backoff(n, rand=0.999999) for n in range(1, 12)]
    assert caps[0] == pytest.approx(1.0, rel=1e-5)
    assert caps[1] == pytest.approx(1.3, rel=1e-5)
    assert caps[2] == pytest.approx(1.69, rel=1e-5)
    assert all(b <= a * 1.3 + 1e-9 for a, b in itertools.pairwise(caps))
    assert max(caps) == pytest.approx(10.0, rel=1e-5)
    assert policy.backoff(3, rand=0.0) == 0.0


def test_backoff_jitter_stays_within_the_cap() -> None:
    policy = Retry(initial_backoff=2.0, multiplier=2.0, max_backoff=5.0)
    draws = [policy.backoff(2) for _ in range(500)]
    assert all(0.0 <= d < 4.0 for d in draws)
    assert len({round(d, 6) for d in draws}) > 100  # it is random, not a constant


def _error(code: Status, *details: object) -> object:
    return error_for_status(code, "boom", list(details))


def test_unavailable_is_retried_until_attempts_run_out() -> None:
    policy = Retry(max_attempts=3)
    err = _error(Status.UNAVAILABLE)
    assert policy.delay(err, 1, rand=0.5) == pytest.approx(0.5)  # type: ignore[arg-type]
    assert policy.delay(err, 2, rand=0.5) == pytest.approx(0.65)  # type: ignore[arg-type]
    assert policy.delay(err, 3, rand=0.5) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code", [Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.INTERNAL, Status.NOT_FOUND]
)
def test_other_codes_are_not_retried(code: Status) -> None:
    assert Retry().delay(_error(code), 1) is None  # type: ignore[arg-type]


def retry_info(seconds: float) -> rpc.RetryInfo:
    return rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=seconds))


def daily_quota() -> rpc.QuotaFailure:
    return rpc.QuotaFailure(
        violations=[
            rpc.QuotaFailureViolation(
                quota_id="GenerateRequestsPerDayPerProjectPerModel",
                quota_metric="generativelanguage.googleapis.com/generate_requests",
            )
        ]
    )


def test_resource_exhausted_waits_for_retry_info() -> None:
    policy = Retry()
    assert policy.delay(_error(Status.RESOURCE_EXHAUSTED), 1) is None  # type: ignore[arg-type]
    err = _error(Status.RESOURCE_EXHAUSTED, retry_info(0.2))
    assert policy.delay(err, 1) == pytest.approx(0.2)  # type: ignore[arg-type]
    assert Retry(retry_info=False).delay(err, 1) is None  # type: ignore[arg-type]


def test_daily_quota_is_never_retried() -> None:
    err = _error(Status.RESOURCE_EXHAUSTED, retry_info(0.2), daily_quota())
    assert err.is_daily_quota  # type: ignore[attr-defined]
    assert Retry().delay(err, 1) is None  # type: ignore[arg-type]
    listed = Retry(retry_codes=("UNAVAILABLE", "RESOURCE_EXHAUSTED"))
    assert listed.delay(err, 1) is None  # type: ignore[arg-type]


def test_per_minute_quota_is_not_daily() -> None:
    minute = rpc.QuotaFailure(
        violations=[rpc.QuotaFailureViolation(quota_id="GenerateRequestsPerMinutePerProject")]
    )
    err = _error(Status.RESOURCE_EXHAUSTED, retry_info(1.5), minute)
    assert not err.is_daily_quota  # type: ignore[attr-defined]
    assert Retry().delay(err, 1) == pytest.approx(1.5)  # type: ignore[arg-type]


def test_retry_info_lengthens_a_backoff() -> None:
    err = _error(Status.UNAVAILABLE, retry_info(3.0))
    assert Retry().delay(err, 1, rand=0.5) == pytest.approx(3.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": 2.5}, TypeError),
        ({"initial_backoff": -1}, ValueError),
        ({"max_backoff": float("inf")}, ValueError),
        ({"multiplier": 0.5}, ValueError),
        ({"multiplier": "2"}, TypeError),
        ({"retry_codes": "UNAVAILABLE"}, TypeError),
        ({"retry_codes": ("UNAVAILABLE", "NOPE")}, ValueError),
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Retry(**kwargs)  # type: ignore[arg-type]


def test_status_members_are_normalised_to_names() -> None:
    policy = Retry(retry_codes=[Status.UNAVAILABLE, "ABORTED"])  # type: ignore[arg-type]
    assert policy.retry_codes == ("UNAVAILABLE", "ABORTED")


def test_a_server_delay_over_max_retry_delay_is_not_waited_for() -> None:
    hour = _error(Status.RESOURCE_EXHAUSTED, retry_info(3600))
    minute = _error(Status.RESOURCE_EXHAUSTED, retry_info(59))
    policy = Retry()  # max_retry_delay: 60 s by default
    assert policy.max_retry_delay == 60.0
    assert policy.delay(hour, 1) is None  # type: ignore[arg-type]
    assert policy.refused_delay(hour, 1) == 3600  # type: ignore[arg-type]
    assert policy.delay(minute, 1) == 59  # type: ignore[arg-type]
    assert policy.refused_delay(minute, 1) is None  # type: ignore[arg-type]
    # Not the reason when nothing would have been retried anyway.
    assert policy.refused_delay(hour, 5) is None  # type: ignore[arg-type]
    unavailable = _error(Status.UNAVAILABLE, retry_info(120))
    assert policy.delay(unavailable, 1) is None  # type: ignore[arg-type]
    assert policy.refused_delay(unavailable, 1) == 120  # type: ignore[arg-type]
    unlimited = Retry(max_retry_delay=None)
    assert unlimited.delay(hour, 1) == 3600  # type: ignore[arg-type]
    assert unlimited.refused_delay(hour, 1) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (float("inf"), ValueError), ("60", TypeError)]
)
def test_max_retry_delay_is_checked(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_retry_delay"):
        Retry(max_retry_delay=value)  # type: ignore[arg-type]
