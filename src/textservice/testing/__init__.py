"""A fake Generative Language API for tests: in-process or on a local port, deterministic,
fault-injecting.

It serves TextService, GenerativeService (EmbedContent, BatchEmbedContents, CountTokens) and
ModelService (ListModels, GetModel) of every generated API version (v1, v1beta, v1beta2,
v1beta3); other RPCs answer UNIMPLEMENTED. Typical use (the ``fake_server`` /
``fake_text_service`` pytest fixtures do this for you)::

    from textservice.testing import FakeServer, expected_content_embedding

    fake = FakeServer()                      # FakeTextService is the same class
    with fake.serve() as address:            # 127.0.0.1 on a free port, background thread
        ...                                  # point a client at address.target
    async with fake.in_memory() as channel:  # or no socket at all
        ...

    assert vector == expected_content_embedding("models/gemini-embedding-001", "hello")
    fake.faults.fail_next(2, "UNAVAILABLE", details=[retry_info(0.5)])
    FakeServer(quotas={"requests_per_minute": 10, "time_scale": 60})  # 10 calls/s
    FakeServer(strict_methods=True)  # NOT_FOUND for a model the RPC does not serve, as the API

``python -m textservice.testing --port 50051`` runs it as a standalone server.
"""

from textservice._transport.secrets import Secret
from textservice.testing.answers import GenerateTextExtras
from textservice.testing.catalogue import (
    DEFAULT_CATALOGUE,
    DEFAULT_DIMENSION,
    DEFAULT_KNOWN_MODELS,
    CatalogueModel,
)
from textservice.testing.fake import FakeServer, FakeTextService, ServerAddress
from textservice.testing.faults import FaultPlan, Injection, quota_failure, retry_info
from textservice.testing.generation import (
    expected_completion,
    expected_content_token_count,
    expected_token_count,
)
from textservice.testing.log import RecordedCall, RequestLog
from textservice.testing.quotas import QuotaLedger, Quotas
from textservice.testing.validation import MAX_BATCH_REQUESTS, MAX_BATCH_TEXTS
from textservice.testing.vectors import expected_content_embedding, expected_embedding

__all__ = [
    "DEFAULT_CATALOGUE",
    "DEFAULT_DIMENSION",
    "DEFAULT_KNOWN_MODELS",
    "MAX_BATCH_REQUESTS",
    "MAX_BATCH_TEXTS",
    "CatalogueModel",
    "FakeServer",
    "FakeTextService",
    "FaultPlan",
    "GenerateTextExtras",
    "Injection",
    "QuotaLedger",
    "Quotas",
    "RecordedCall",
    "RequestLog",
    "Secret",
    "ServerAddress",
    "expected_completion",
    "expected_content_embedding",
    "expected_content_token_count",
    "expected_embedding",
    "expected_token_count",
    "quota_failure",
    "retry_info",
]
