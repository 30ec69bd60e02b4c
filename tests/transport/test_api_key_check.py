"""A malformed API key (a line break, NUL, non-ASCII letter, a space) is refused when the
client is made, on either transport, without showing it; the CLI exits 2 (usage) for one from
the environment or a key file, before any output exists. A well-formed key reaches the server
over both (gRPC metadata, REST's ``x-goog-api-key`` header)."""

from __future__ import annotations

from pathlib import Path

import pytest
from grpclib.const import Status
from support.cli_helpers import MODEL, run_cli, write_lines
from support.transports import via

import textservice
from textservice import Client
from textservice._transport.secrets import check_api_key
from textservice.testing import FakeServer

GOOD = "AIzaSyD-0123456789_abcdefghijklmnopqrst"  # 39 characters, as Google's

BAD = [
    (GOOD + "\n", "a line break at character 40 of 40"),
    (GOOD[:10] + "\r\n" + GOOD[10:], "a line break at character 11"),
    (GOOD + "\nsecond-line-key", "a line break at character 40"),
    ("\0" + GOOD, "a control character ('\\x00') at character 1"),
    (GOOD[:5] + "é" + GOOD[5:], "a non-ASCII character at character 6"),
    (GOOD[:5] + "\u200b" + GOOD[5:], "a non-ASCII character at character 6"),
    (GOOD[:5] + " " + GOOD[5:], "a space at character 6"),
    (GOOD[:5] + "\t" + GOOD[5:], "a space ('\\t') at character 6"),
    (GOOD + "\x7f", "a control character ('\\x7f') at character 40"),
]


@pytest.mark.parametrize(("key", "what"), BAD)
def test_a_malformed_key_is_refused_when_the_client_is_made(
    key: str, what: str, transport: str
) -> None:
    with pytest.raises(ValueError, match="api_key holds ") as info:
        Client(key, transport=transport)  # type: ignore[arg-type]
    message = str(info.value)
    assert what in message
    assert "printable ASCII" in message
    assert GOOD[5:15] not in message and GOOD not in repr(info.value)


@pytest.mark.parametrize(("key", "what"), [(k, w) for k, w in BAD if "\0" not in k])
def test_a_malformed_key_from_the_environment_names_the_variable(
    key: str, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", key)
    with pytest.raises(ValueError, match="the GOOGLE_API_KEY environment variable holds") as info:
        Client()
    assert what in str(info.value) and GOOD[5:15] not in str(info.value)


def test_well_formed_keys_pass(transport: str) -> None:
    for key in (GOOD, "k", "key-123456", "!~#%"):
        assert check_api_key(key) == key
        fake = FakeServer(api_key=key, embedding_dimension=4)
        with Client(key, **via(fake, transport)) as client:
            textservice.count_tokens(MODEL, "x", client=client)  # the fake checks the key
        assert fake.calls[-1].status is Status.OK


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("how", "transport"),
    [
        ("two-line key file", "grpc"),
        ("two-line key file", "rest"),
        ("NUL in key file", "grpc"),
        ("environment", "grpc"),
    ],
)
def test_the_cli_exits_2_for_a_malformed_key_before_any_output(
    tmp_path: Path, how: str, transport: str
) -> None:
    source = write_lines(tmp_path / "in.txt", ["a", "b"])
    out = tmp_path / "out.jsonl"
    args = ["embed", "-m", MODEL, "-i", str(source), "-o", str(out), "--transport", transport]
    env = None
    key_file = tmp_path / "key"
    if how == "environment":
        env = {"GOOGLE_API_KEY": GOOD + "\nmore"}
        where = "the GOOGLE_API_KEY environment variable holds a line break"
    elif how == "two-line key file":
        key_file.write_text(f"{GOOD}\n{GOOD[::-1]}\n")
        args += ["--api-key-file", str(key_file)]
        where = f"--api-key-file {key_file} holds a line break at character 40 of 79"
    else:
        key_file.write_bytes(GOOD.encode() + b"\0\n")
        args += ["--api-key-file", str(key_file)]
        where = f"--api-key-file {key_file} holds a control character"
    done = run_cli(args, env=env)
    assert done.returncode == 2, done.stderr
    assert where in done.stderr
    assert GOOD[5:15] not in done.stderr and GOOD[::-1][5:15] not in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    made = {"in.txt"} | ({"key"} if key_file.exists() else set())
    assert {p.name for p in tmp_path.iterdir()} == made  # no output, no OUTPUT.part
