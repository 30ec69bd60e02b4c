"""The exception hierarchy and the mapping of transport failures onto it."""

from __future__ import annotations

import datetime
import pickle
import ssl

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

import textservice
from textservice._proto.google import rpc
from textservice._transport.rpc import to_error
from textservice._transport.status import StatusDetailsCodec
from textservice.errors import (
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    PartialEmbeddings,
    ResourceExhausted,
    TextServiceError,
    Unavailable,
    Unknown,
    error_for_status,
)
from textservice.testing import quota_failure, retry_info


def test_every_status_but_ok_has_its_own_subclass() -> None:
    seen = set()
    for status in Status:
        if status is Status.OK:
            continue
        err = error_for_status(status, "m")
        assert isinstance(err, TextServiceError)
        assert err.code is status
        assert type(err).default_code is status
        assert type(err).__name__ in textservice.__all__
        seen.add(type(err))
    assert len(seen) == len(Status) - 1
    assert isinstance(error_for_status(Status.OK, "odd"), Unknown)


def test_a_status_has_one_class_and_its_subclasses_keep_it() -> None:
    closed = textservice.ClientClosedError("closed")
    assert closed.code is Status.CANCELLED
    assert type(error_for_status(Status.CANCELLED, "m")) is textservice.Cancelled
    with pytest.raises(TypeError, match="Missing: NotFound is already the class of NOT_FOUND"):

        class Missing(TextServiceError, code=Status.NOT_FOUND):
            pass

    assert type(error_for_status(Status.NOT_FOUND, "m")) is textservice.NotFound


def test_the_package_re_exports_the_error_types_and_nothing_else_of_errors() -> None:
    from textservice import errors

    defined = {
        value.__name__
        for value in vars(errors).values()
        if isinstance(value, type) and value.__module__ == errors.__name__
    }
    assert set(errors.__all__) == defined
    assert set(errors.__all__) <= set(textservice.__all__) & set(dir(textservice))
    assert {"Status", "error_for_status"}.isdisjoint([*textservice.__all__, *dir(textservice)])
    assert errors.Status is Status


def test_grpc_error_details_survive_the_status_codec() -> None:
    codec = StatusDetailsCodec()
    details = [
        rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=0.25)),
        rpc.QuotaFailure(violations=[rpc.QuotaFailureViolation(description="Daily Limit")]),
    ]
    wire = codec.encode(Status.RESOURCE_EXHAUSTED, "quota", details)
    decoded = codec.decode(Status.RESOURCE_EXHAUSTED, "quota", wire)
    err = to_error(GRPCError(Status.RESOURCE_EXHAUSTED, "quota", decoded))
    assert isinstance(err, ResourceExhausted)
    assert err.message == "quota"
    assert err.retry_delay == pytest.approx(0.25)
    assert err.is_daily_quota
    assert [type(d) for d in err.details] == [rpc.RetryInfo, rpc.QuotaFailure]
    assert "retry after 0.25 s" in str(err)


@pytest.mark.parametrize(
    ("exc", "cls", "text"),
    [
        (GRPCError(Status.INVALID_ARGUMENT, "bad model"), InvalidArgument, "bad model"),
        (TimeoutError(), DeadlineExceeded, "deadline"),
        (StreamTerminatedError("Connection lost"), Unavailable, "connection was dropped"),
        (ConnectionResetError(104, "reset by peer"), Unavailable, "could not reach"),
        (ConnectionRefusedError(111, "refused"), Unavailable, "could not reach"),
        (ssl.SSLCertVerificationError("bad cert"), Unavailable, "TLS failed"),
        (KeyError("message"), Internal, "could not be processed"),
        (EOFError("Stream ended"), Internal, "could not be processed"),
    ],
)
def test_transport_failures_map_to_typed_errors(
    exc: BaseException, cls: type[TextServiceError], text: str
) -> None:
    err = to_error(exc)
    assert type(err) is cls
    assert text in str(err)


def test_partial_embeddings_describe_what_succeeded() -> None:
    partial = PartialEmbeddings(total=8, embeddings={0: [1.0], 1: [2.0], 2: [3.0], 6: [4.0]})
    assert partial.succeeded_indices == [0, 1, 2, 6]
    assert partial.failed_indices == [3, 4, 5, 7]
    assert partial.describe() == "4 of 8 texts embedded (indices 0-2, 6)"
    err = Unavailable("gone").with_partial(partial)
    assert isinstance(err, Unavailable)
    assert err.partial is partial
    assert "4 of 8 texts embedded" in str(err)
    assert ".partial.embeddings" in str(err)
    empty = PartialEmbeddings(total=3, embeddings={})
    assert "0 of 3 texts embedded (indices none)" in empty.describe()


def test_partial_embeddings_of_an_iterator_count_what_was_yielded() -> None:
    # An iterator's partial result: 300 texts yielded (not kept), 200 held back for order.
    held = {i: [float(i)] for i in range(400, 600)}
    partial = PartialEmbeddings(total=1000, embeddings=held, delivered=300)
    assert partial.succeeded_indices == [*range(300), *range(400, 600)]
    assert partial.failed_indices == [*range(300, 400), *range(600, 1000)]
    assert partial.describe() == (
        "500 of 1000 texts embedded: 300 yielded (indices 0-299), 200 held back (indices 400-599)"
    )
    err = Unavailable("gone").with_partial(partial)
    assert "the vectors not yet yielded are in .partial.embeddings" in str(err)
    assert PartialEmbeddings(total=2, embeddings={}, delivered=1).describe() == (
        "1 of 2 texts embedded: 1 yielded (indices 0)"
    )
    back = pickle.loads(pickle.dumps(err))
    assert back.partial == partial
    with pytest.raises(ValueError, match="delivered"):
        PartialEmbeddings(total=2, embeddings={}, delivered=3)


def test_errors_pickle_and_repr() -> None:
    err = error_for_status(
        Status.RESOURCE_EXHAUSTED,
        "slow down",
        [rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=2))],
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ResourceExhausted
    assert back.message == "slow down" and back.retry_delay == 2.0
    assert repr(err) == "ResourceExhausted(code=RESOURCE_EXHAUSTED, message='slow down')"


def test_resource_exhausted_names_its_quota() -> None:
    minute = quota_failure(quota_id="BatchEmbedTextRequestsPerMinutePerProjectPerModel")
    daily = quota_failure(
        quota_id="BatchEmbedTextRequestsPerDayPerProjectPerModel", quota_value=1000
    )
    error = ResourceExhausted("quota", details=[retry_info(1.0), minute, daily])
    assert (error.quota_id, error.quota_value) == (
        "BatchEmbedTextRequestsPerDayPerProjectPerModel",
        1000,
    )  # the per-day one first: it is why the call failed
    only_minute = ResourceExhausted("quota", details=[minute])
    assert (only_minute.quota_id, only_minute.quota_value) == (
        "BatchEmbedTextRequestsPerMinutePerProjectPerModel",
        None,  # 0 on the wire: not said
    )
    assert (ResourceExhausted("x").quota_id, ResourceExhausted("x").quota_value) == (None, None)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.quota_id == error.quota_id
