"""Google's own client (google-ai-generativelanguage, grpcio) against the fake on a port.

It runs in a subprocess: Google's client registers the API's proto names in protobuf's
default descriptor pool, which other tests of this process fill from ``reference``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import BATCH_VERSIONS, with_google_client

from textservice.testing import (
    FakeServer,
    expected_completion,
    expected_embedding,
    expected_token_count,
    quota_failure,
    retry_info,
)

pytestmark = [pytest.mark.network, pytest.mark.subprocess]

KEY = "google-client-key"
EMBED_MODEL = "models/embedding-gecko-001"
TEXT_MODEL = "models/text-bison-001"

SCRIPT = r"""
import json, sys
import grpc
from google.api_core import client_options, exceptions
from google.rpc import error_details_pb2

version, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
g = __import__(f"google.ai.generativelanguage_{version}", fromlist=["TextServiceClient"])
transports = __import__(
    f"google.ai.generativelanguage_{version}.services.text_service.transports",
    fromlist=["TextServiceGrpcTransport"],
)
target = f"127.0.0.1:{port}"
client = g.TextServiceClient(
    transport=transports.TextServiceGrpcTransport(channel=grpc.insecure_channel(target)),
    client_options=client_options.ClientOptions(api_endpoint=target),
)
auth = [("x-goog-api-key", key)]
out = {}

def error(call):
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        details = []
        for d in exc.details or []:
            if isinstance(d, error_details_pb2.RetryInfo):
                details.append(["RetryInfo", d.retry_delay.ToTimedelta().total_seconds()])
            elif isinstance(d, error_details_pb2.QuotaFailure):
                details.append(["QuotaFailure", d.violations[0].subject])
            elif isinstance(d, error_details_pb2.BadRequest):
                details.append(["BadRequest", d.field_violations[0].field])
            else:
                details.append([type(d).__name__])
        return {"type": type(exc).__name__, "code": exc.grpc_status_code.name,
                "message": exc.message, "details": details}
    return None

emb = client.embed_text(request=g.EmbedTextRequest(model="MODEL_E", text="héllo"), metadata=auth)
out["embed"] = list(emb.embedding.value)
batch = client.batch_embed_text(
    request=g.BatchEmbedTextRequest(model="MODEL_E", texts=["a", "b", "c"]), metadata=auth
)
out["batch"] = [list(e.value) for e in batch.embeddings]
out["quota"] = error(lambda: client.count_text_tokens(
    request=g.CountTextTokensRequest(model="MODEL_T", prompt=g.TextPrompt(text="x")),
    metadata=auth,
))
count = client.count_text_tokens(
    request=g.CountTextTokensRequest(model="MODEL_T", prompt=g.TextPrompt(text="one, two")),
    metadata=auth,
)
out["count"] = count.token_count
gen = client.generate_text(
    request=g.GenerateTextRequest(
        model="MODEL_T", prompt=g.TextPrompt(text="hi"), candidate_count=2
    ),
    metadata=auth,
)
out["generate"] = [c.output for c in gen.candidates]
out["too_many"] = error(lambda: client.batch_embed_text(
    request=g.BatchEmbedTextRequest(model="MODEL_E", texts=["t"] * 101), metadata=auth
))
out["not_found"] = error(lambda: client.embed_text(
    request=g.EmbedTextRequest(model="models/nope", text="x"), metadata=auth
))
out["no_key"] = error(lambda: client.embed_text(
    request=g.EmbedTextRequest(model="MODEL_E", text="x")
))
print(json.dumps(out))
""".replace("MODEL_E", EMBED_MODEL).replace("MODEL_T", TEXT_MODEL)


@pytest.mark.parametrize("version", with_google_client(BATCH_VERSIONS))
def test_google_client_against_the_fake(version: str) -> None:
    fake = FakeServer(api_key=KEY)
    fake.faults.fail_next(
        1,
        "RESOURCE_EXHAUSTED",
        method="CountTextTokens",
        message="Quota exceeded",
        details=[retry_info(2.5), quota_failure(subject="project:google-client")],
    )
    with fake.serve() as address:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, version, str(address.port), KEY],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)

    assert out["embed"] == expected_embedding(EMBED_MODEL, "héllo")
    assert out["batch"] == [expected_embedding(EMBED_MODEL, t) for t in "abc"]
    assert out["count"] == expected_token_count("one, two") == 3
    assert out["generate"] == [expected_completion(TEXT_MODEL, "hi", i) for i in range(2)]
    assert out["quota"] == {
        "type": "ResourceExhausted",
        "code": "RESOURCE_EXHAUSTED",
        "message": "Quota exceeded",
        "details": [["RetryInfo", 2.5], ["QuotaFailure", "project:google-client"]],
    }
    assert out["too_many"]["type"] == "InvalidArgument"
    assert out["too_many"]["details"] == [["BadRequest", "texts"]]
    assert out["too_many"]["message"].startswith("texts: ")
    assert out["not_found"]["type"] == "NotFound"
    assert out["no_key"]["type"] == "Unauthenticated"

    # what the fake saw: Google's metadata, the key (redacted when printed), one call each
    embed_call = fake.calls[0]
    assert embed_call.version == version and embed_call.method == "EmbedText"
    assert embed_call.api_key == KEY and KEY not in repr(embed_call)
    assert ("x-goog-request-params", f"model={EMBED_MODEL}") in embed_call.metadata
    assert fake.count(status=Status.OK) == 4
    assert fake.count(status=Status.UNAUTHENTICATED) == 1
