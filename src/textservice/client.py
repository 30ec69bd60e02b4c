"""PLACEHOLDER so the generated facades type-check before the runtime branch lands.

The runtime work provides the real ``TextServiceClient``; this file is replaced at merge.
"""


class TextServiceClient:
    """Placeholder for the runtime's client (connection, API key, default policies)."""
