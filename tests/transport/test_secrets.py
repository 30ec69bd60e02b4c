"""``textservice._transport.secrets``: the API key as a value that never prints, its removal
from log records of the HTTP/2 and gRPC loggers while a client holding it is alive, and from the
``google.rpc`` details of an error. (End to end, through a client and the fake:
test_reliability_secrets.py.)"""

from __future__ import annotations

import copy
import gc
import logging
import pickle
import weakref
from pathlib import Path

import pytest

from textservice._proto.google import protobuf as pb
from textservice._proto.google import rpc
from textservice._transport import secrets
from textservice._transport.secrets import (
    REDACTED,
    Concealed,
    KeyEnvVar,
    KeyFile,
    Secret,
    holds_secret,
    live_secrets,
    read_key,
    read_key_file,
    scrub,
    scrub_details,
)

KEY = "AIzaSyD-secrets-unit-key-1234567890abcdef"


def test_a_secret_never_shows_its_key() -> None:
    secret = Secret(KEY)
    assert repr(secret) == str(secret) == f"{secret}" == REDACTED
    assert repr([secret]) == f"[{REDACTED}]"
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(secret)
    with pytest.raises(TypeError, match="not picklable"):
        copy.copy(secret)


def test_the_revealed_key_is_the_string_sent_whose_repr_hides_it() -> None:
    revealed = Secret(KEY).reveal()
    assert isinstance(revealed, Concealed) and isinstance(revealed, str)
    assert revealed == KEY and str(revealed) == KEY and f"{revealed}" == KEY  # the wire value
    assert repr(revealed) == REDACTED
    assert repr({"x-goog-api-key": revealed}) == f"{{'x-goog-api-key': {REDACTED}}}"
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps([revealed])


def test_a_key_file_is_read_where_it_is_called_and_pickles_as_its_path(tmp_path: Path) -> None:
    path = tmp_path / "key"
    source = KeyFile(path)
    assert source.path == str(path) and repr(source) == f"KeyFile(path={str(path)!r})"
    with pytest.raises(FileNotFoundError):
        source()  # not there yet: read when called, never when made
    path.write_text(f"  {KEY}\n", encoding="utf-8")
    assert source() == read_key_file(path) == read_key(source) == KEY  # whitespace removed
    copied = pickle.loads(data := pickle.dumps(source))
    assert KEY.encode() not in data and copied == source and copied() == KEY
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        source()
    path.write_bytes(b"\xff\xfe" + KEY.encode())
    with pytest.raises(ValueError, match="not UTF-8") as info:
        source()
    assert KEY not in str(info.value)
    with pytest.raises(TypeError, match="path must be"):
        KeyFile(3)  # type: ignore[arg-type]


def test_a_key_variable_is_read_where_it_is_called_and_pickles_as_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = KeyEnvVar("TEXTSERVICE_TEST_KEY")
    monkeypatch.delenv("TEXTSERVICE_TEST_KEY", raising=False)
    with pytest.raises(ValueError, match="TEXTSERVICE_TEST_KEY is not set here"):
        source()
    monkeypatch.setenv("TEXTSERVICE_TEST_KEY", KEY)
    copied = pickle.loads(data := pickle.dumps(source))
    assert KEY.encode() not in data and copied() == read_key(copied) == KEY
    with pytest.raises(ValueError, match="empty"):
        KeyEnvVar("")
    with pytest.raises(TypeError, match="name must be a str"):
        KeyEnvVar(None)  # type: ignore[arg-type]


def test_read_key_refuses_a_source_that_gives_no_key() -> None:
    def gives(value: object) -> object:
        return lambda: value

    with pytest.raises(TypeError, match="gave a bytes, not a str") as info:
        read_key(gives(KEY.encode()))  # type: ignore[arg-type]
    assert KEY not in str(info.value)
    with pytest.raises(ValueError, match="gave an empty key"):
        read_key(gives(" "))  # type: ignore[arg-type]


@pytest.fixture
def only_these_keys_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys made in the test are the only live ones (other tests' clients may still be alive in
    this process, some with one-letter keys that would be scrubbed from every text)."""
    monkeypatch.setattr(secrets, "_live", weakref.WeakValueDictionary())


@pytest.mark.usefixtures("only_these_keys_live")
def test_scrub_replaces_every_copy_of_the_given_or_live_keys() -> None:
    assert scrub(f"{KEY} and {KEY}!", [KEY]) == f"{REDACTED} and {REDACTED}!"
    assert scrub("nothing here", [KEY]) == "nothing here"
    assert scrub(f"a {KEY}", ["", KEY]) == f"a {REDACTED}"  # an empty key matches nothing
    other = "AIzaSyD-secrets-unit-key-only-while-alive"
    secret = Secret(other)
    assert other in live_secrets()
    assert scrub(f"key={other}") == f"key={REDACTED}"  # live keys by default
    del secret
    gc.collect()
    assert other not in live_secrets()  # a client's key stops being live with it
    assert scrub(f"key={other}") == f"key={other}"


def test_a_key_holding_another_live_key_is_redacted_whole() -> None:
    # Two clients whose keys overlap (one key inside the other), in either order.
    short = "key-123456"
    for secrets_ in ([short, KEY + short], [KEY + short, short]):
        assert scrub(f"bad key {KEY}{short}.", secrets_) == f"bad key {REDACTED}."
    held = Secret(short)  # live: scrub() with no list reads the live keys
    long_one = Secret(KEY + short)
    assert scrub(f"[{KEY}{short}] [{short}]") == f"[{REDACTED}] [{REDACTED}]"
    del held, long_one


def test_holds_secret_reads_a_message_in_its_wire_form_and_other_values_by_repr() -> None:
    assert holds_secret(rpc.ErrorInfo(metadata={"key": KEY}), [KEY])
    assert not holds_secret(rpc.ErrorInfo(reason="R"), [KEY])
    assert holds_secret({"nested": [KEY]}, [KEY])
    assert not holds_secret(rpc.ErrorInfo(reason="R"), [""])


def test_scrub_details_rebuilds_only_details_holding_a_key() -> None:
    nested = rpc.BadRequest(
        field_violations=[
            rpc.BadRequestFieldViolation(field="ok", description="fine"),
            rpc.BadRequestFieldViolation(field=KEY, description=f"bad {KEY}"),
        ]
    )
    info = rpc.ErrorInfo(reason="R", metadata={KEY: "v", "k": f"<{KEY}>"})
    kept = rpc.ErrorInfo(reason="R")
    clean = scrub_details([nested, info, kept], [KEY])
    assert clean[0] == rpc.BadRequest(
        field_violations=[
            rpc.BadRequestFieldViolation(field="ok", description="fine"),
            rpc.BadRequestFieldViolation(field=REDACTED, description=f"bad {REDACTED}"),
        ]
    )
    assert clean[1] == rpc.ErrorInfo(reason="R", metadata={REDACTED: "v", "k": f"<{REDACTED}>"})
    assert clean[2] is kept
    assert nested.field_violations[1].field == KEY  # the originals are not edited


def test_scrub_details_covers_unknown_fields_and_any() -> None:
    revealed = Secret(KEY).reveal()
    assert isinstance(revealed, str)
    secrets = [revealed]
    # A detail of a type the client does not know stays a google.protobuf.Any (bytes value);
    # bytes cannot be edited without corrupting them, so a value holding the key is emptied.
    unknown = pb.Any(type_url="type.googleapis.com/x.Unknown", value=b"\n(" + KEY.encode())
    harmless = pb.Any(type_url="type.googleapis.com/x.Other", value=b"\n\x02ok")
    # Fields this version does not know (a newer server's) are kept as raw bytes by betterproto2.
    newer = rpc.ErrorInfo.parse(
        bytes(rpc.ErrorInfo(reason="R")) + bytes(rpc.LocalizedMessage(message=KEY))[2:]
    )
    assert KEY.encode() in bytes(newer)
    clean = scrub_details([unknown, harmless, newer], secrets)
    assert clean[0] == pb.Any(type_url="type.googleapis.com/x.Unknown", value=b"")
    assert clean[1] is harmless  # nothing to scrub: the very same object
    assert clean[2] == rpc.ErrorInfo(reason="R")
    assert all(KEY.encode() not in bytes(detail) for detail in clean)
    assert KEY.encode() not in pickle.dumps(clean)


@pytest.fixture
def hpack_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """DEBUG records of ``hpack.hpack``, one of the loggers the filter watches."""
    caplog.set_level(logging.DEBUG, logger="hpack.hpack")
    caplog.set_level(logging.DEBUG, logger="somebody.else")
    return caplog


@pytest.mark.usefixtures("only_these_keys_live")
def test_log_records_of_the_watched_loggers_lose_live_keys(
    hpack_log: pytest.LogCaptureFixture,
) -> None:
    secret = Secret(KEY)
    logging.getLogger("hpack.hpack").debug("Adding %s to the header table", (b"k", KEY))
    logging.getLogger("hpack.hpack").debug("Encoded header block to %s", b"\x82" + KEY.encode())
    try:
        raise ValueError(f"bad header {KEY}")
    except ValueError:
        logging.getLogger("hpack.hpack").exception("failed")
    records = [r for r in hpack_log.records if r.name == "hpack.hpack"]
    texts = [r.getMessage() for r in records]
    assert texts[0] == f"Adding {(b'k', REDACTED)} to the header table"
    assert texts[1] == "Encoded header block to <header block elided: it may hold an API key>"
    assert records[2].exc_info is None and records[2].exc_text is not None
    assert f"bad header {REDACTED}" in records[2].exc_text
    assert KEY not in hpack_log.text
    del secret  # alive until here


@pytest.mark.usefixtures("only_these_keys_live")
def test_loggers_outside_the_library_stack_are_left_alone(
    hpack_log: pytest.LogCaptureFixture,
) -> None:
    secret = Secret(KEY)
    logging.getLogger("somebody.else").debug("their own message %s", KEY)
    assert hpack_log.records[-1].getMessage() == f"their own message {KEY}"
    del secret  # alive until here


def test_with_no_live_key_records_are_untouched(
    hpack_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    Secret(KEY)  # installs the filter
    # Other tests' clients may still be alive in this process: none are, as the filter sees it.
    monkeypatch.setattr(secrets, "live_secrets", list)
    logging.getLogger("hpack.hpack").debug("Encoded header block to %s", b"\x82")
    assert hpack_log.records[-1].getMessage() == "Encoded header block to b'\\x82'"


def test_one_secret_holds_the_clients_key_and_the_fakes_records() -> None:
    from textservice import testing

    assert testing.Secret is Secret  # the fake records keys as the client holds its own
    secret = Secret(KEY)
    assert secret == KEY and secret == KEY.encode() and secret == Secret(KEY)
    assert secret != KEY + "x" and secret.__eq__(3) is NotImplemented
    assert f"{secret:>12}" == f"{REDACTED:>12}"
    with pytest.raises(TypeError):
        hash(secret)  # a hash equal to the key's would leak it
    received = Secret(b"raw-bytes-key")  # metadata may arrive as bytes
    assert received == "raw-bytes-key" and received.reveal() == b"raw-bytes-key"
    assert repr(received) == REDACTED
    assert "raw-bytes-key" not in live_secrets()  # only str keys are scrubbed from text
