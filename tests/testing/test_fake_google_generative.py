"""Google's GenerativeServiceClient and ModelServiceClient (google-ai-generativelanguage, grpcio)
against the fake on a port, for v1 and v1beta.

They run in a subprocess, as in ``test_fake_google_client.py``: Google's client registers the
API's proto names in protobuf's default descriptor pool, which other tests of this process fill
from ``reference``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import GENERATIVE_VERSIONS, with_google_client

from textservice.testing import (
    DEFAULT_CATALOGUE,
    FakeServer,
    expected_content_embedding,
    expected_content_token_count,
    quota_failure,
    retry_info,
)

pytestmark = [pytest.mark.network, pytest.mark.subprocess]

KEY = "google-client-key"
MODEL = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"

SCRIPT = r"""
import json, sys
import grpc
from google.api_core import exceptions

version, port, key, model = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
package = f"google.ai.generativelanguage_{version}"
g = __import__(package, fromlist=["GenerativeServiceClient"])
generative_transports = __import__(
    f"{package}.services.generative_service.transports", fromlist=["GenerativeServiceGrpcTransport"]
)
model_transports = __import__(
    f"{package}.services.model_service.transports", fromlist=["ModelServiceGrpcTransport"]
)
channel = grpc.insecure_channel(f"127.0.0.1:{port}")
gen = g.GenerativeServiceClient(
    transport=generative_transports.GenerativeServiceGrpcTransport(channel=channel)
)
models = g.ModelServiceClient(transport=model_transports.ModelServiceGrpcTransport(channel=channel))
auth = [("x-goog-api-key", key)]
out = {}

def error(call):
    try:
        call()
    except exceptions.GoogleAPICallError as exc:
        details = []
        for d in exc.details or []:
            name = type(d).__name__
            if name == "BadRequest":
                details.append([name, d.field_violations[0].field])
            elif name == "RetryInfo":
                details.append([name, d.retry_delay.ToTimedelta().total_seconds()])
            elif name == "QuotaFailure":
                details.append([name, d.violations[0].subject])
            else:
                details.append([name])
        return {"type": type(exc).__name__, "code": exc.grpc_status_code.name,
                "message": exc.message, "details": details}
    return None

def content(*texts):
    return g.Content(parts=[g.Part(text=t) for t in texts])

def request(text, **fields):
    return g.EmbedContentRequest(model=model, content=content(text), **fields)

out["quota"] = error(lambda: gen.embed_content(request=request("x"), metadata=auth))
out["embed"] = list(gen.embed_content(model=model, content=content("héllo"), metadata=auth)
                    .embedding.values)
out["options"] = list(gen.embed_content(
    request=request("doc", task_type=g.TaskType.RETRIEVAL_DOCUMENT, title="T",
                    output_dimensionality=768),
    metadata=auth,
).embedding.values)
batch = gen.batch_embed_contents(
    model=model, requests=[request(t, task_type=g.TaskType.RETRIEVAL_QUERY) for t in "abc"],
    metadata=auth,
)
out["batch"] = [list(e.values) for e in batch.embeddings]
out["count"] = gen.count_tokens(
    model=model, contents=[content("Hello, world!", "two")], metadata=auth
).total_tokens
out["too_many"] = error(lambda: gen.batch_embed_contents(
    model=model, requests=[request("t")] * 101, metadata=auth))
out["mismatch"] = error(lambda: gen.batch_embed_contents(
    model=model, requests=[request("t"), g.EmbedContentRequest(
        model="models/embedding-gecko-001", content=content("u"))], metadata=auth))
out["title"] = error(lambda: gen.embed_content(
    request=request("t", task_type=g.TaskType.RETRIEVAL_QUERY, title="T"), metadata=auth))
out["gecko"] = error(lambda: gen.embed_content(
    model="models/embedding-gecko-001", content=content("t"), metadata=auth))
out["no_key"] = error(lambda: gen.embed_content(request=request("t")))
out["generate"] = error(lambda: gen.generate_content(
    model=model, contents=[content("hi")], metadata=auth))
out["stream"] = error(lambda: list(gen.stream_generate_content(
    model=model, contents=[content("hi")], metadata=auth)))
pager = models.list_models(request=g.ListModelsRequest(page_size=2), metadata=auth)
out["pages"] = [[m.name for m in page.models] for page in pager.pages]
listed = models.list_models(metadata=auth)
out["listed"] = [[m.name, list(m.supported_generation_methods)] for m in listed]
got = models.get_model(name=model, metadata=auth)
out["model"] = {
    "name": got.name, "version": got.version, "display_name": got.display_name,
    "input_token_limit": got.input_token_limit, "output_token_limit": got.output_token_limit,
    "methods": list(got.supported_generation_methods),
}
out["missing_model"] = error(lambda: models.get_model(name="models/nope", metadata=auth))
out["bad_page_token"] = error(lambda: list(models.list_models(
    request=g.ListModelsRequest(page_token="garbage"), metadata=auth)))
print(json.dumps(out))
"""


@pytest.mark.parametrize("version", with_google_client(GENERATIVE_VERSIONS))
def test_google_clients_against_the_fake(version: str) -> None:
    fake = FakeServer(api_key=KEY, strict_methods=True)
    fake.faults.fail_next(
        1,
        "RESOURCE_EXHAUSTED",
        method="EmbedContent",
        message="Quota exceeded",
        details=[retry_info(1.5), quota_failure(subject="project:google-client")],
    )
    with fake.serve() as address:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, version, str(address.port), KEY, MODEL],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)

    assert out["quota"] == {
        "type": "ResourceExhausted",
        "code": "RESOURCE_EXHAUSTED",
        "message": "Quota exceeded",
        "details": [["RetryInfo", 1.5], ["QuotaFailure", "project:google-client"]],
    }
    assert out["embed"] == expected_content_embedding(MODEL, "héllo")
    assert len(out["embed"]) == 3072
    assert out["options"] == expected_content_embedding(
        MODEL, "doc", "RETRIEVAL_DOCUMENT", "T", 768
    )
    assert out["batch"] == [expected_content_embedding(MODEL, t, "RETRIEVAL_QUERY") for t in "abc"]
    assert out["count"] == expected_content_token_count("Hello, world!", "two") == 5

    def invalid(name: str, field: str) -> None:
        assert out[name]["type"] == "InvalidArgument", out[name]
        assert out[name]["details"] == [["BadRequest", field]]
        assert out[name]["message"].startswith(f"{field}: ")

    invalid("too_many", "requests")
    invalid("mismatch", "requests[1].model")
    invalid("title", "title")
    assert out["gecko"]["type"] == "NotFound"  # strict: gecko does not list embedContent
    assert "not supported for embedContent" in out["gecko"]["message"]
    assert out["no_key"]["type"] == "Unauthenticated"
    assert out["generate"]["type"] == out["stream"]["type"] == "MethodNotImplemented"

    names = [model.name for model in DEFAULT_CATALOGUE]
    assert out["pages"] == [names[:2], names[2:]]  # the pager follows next_page_token
    assert out["listed"] == [
        [model.name, list(model.supported_generation_methods or ())] for model in DEFAULT_CATALOGUE
    ]
    assert out["model"] == {
        "name": MODEL,
        "version": "001",
        "display_name": "Gemini Embedding 001",
        "input_token_limit": 2048,
        "output_token_limit": 1,
        "methods": ["embedContent", "countTextTokens", "countTokens"],
    }
    assert out["missing_model"]["type"] == "NotFound"
    assert out["bad_page_token"]["type"] == "InvalidArgument"

    # what the fake saw: Google's routing metadata, the key (redacted when printed)
    embed = next(c for c in fake.calls if c.method == "EmbedContent" and c.status is Status.OK)
    assert (embed.version, embed.service) == (version, "GenerativeService")
    assert embed.api_key == KEY and KEY not in repr(embed)
    assert ("x-goog-request-params", f"model={MODEL}") in embed.metadata
    assert fake.count("GenerateContent", status=Status.UNIMPLEMENTED) == 1
    assert fake.count("ListModels", status=Status.OK) == 3  # two pages, then one listing
