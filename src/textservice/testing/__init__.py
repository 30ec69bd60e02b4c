"""A fake TextService for tests: in-process or on a local port, deterministic, fault-injecting.

Typical use (the ``fake_text_service`` pytest fixtures do this for you)::

    from textservice.testing import FakeTextService, expected_embedding

    fake = FakeTextService()
    with fake.serve() as address:            # 127.0.0.1 on a free port, background thread
        ...                                  # point a client at address.target
    async with fake.in_memory() as channel:  # or no socket at all
        ...

    assert vector == expected_embedding("models/embedding-gecko-001", "hello")
    fake.faults.fail_next(2, "UNAVAILABLE", details=[retry_info(0.5)])
    FakeTextService(quotas={"requests_per_minute": 10, "time_scale": 60})  # 10 calls/s

``python -m textservice.testing --port 50051`` runs it as a standalone server.
"""

from textservice.testing.answers import GenerateTextExtras
from textservice.testing.fake import FakeTextService, ServerAddress
from textservice.testing.faults import FaultPlan, Injection, quota_failure, retry_info
from textservice.testing.generation import expected_completion, expected_token_count
from textservice.testing.log import RecordedCall, RequestLog, Secret
from textservice.testing.quotas import QuotaLedger, Quotas
from textservice.testing.validation import DEFAULT_KNOWN_MODELS, MAX_BATCH_TEXTS
from textservice.testing.vectors import DEFAULT_DIMENSION, expected_embedding

__all__ = [
    "DEFAULT_DIMENSION",
    "DEFAULT_KNOWN_MODELS",
    "MAX_BATCH_TEXTS",
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
    "expected_embedding",
    "expected_token_count",
    "quota_failure",
    "retry_info",
]
