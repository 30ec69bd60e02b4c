"""How a call reaches the server: one unary RPC with its deadline and retries (``rpc``), the
per-client call path (``callpath``: channels, metadata, sync bridge, options), connections
(``channels``, ``sensitive_headers``), the sync bridge (``bridge``), the API key kept out of
sight (``secrets``), ``grpc-status-details-bin`` (``status``), and what a call's options
resolve to (``options``). Imports ``textservice._encoding`` and below, never the engine, the
client or the facades."""
