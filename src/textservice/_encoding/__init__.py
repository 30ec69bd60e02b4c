"""Bytes to values and back: protobuf wire primitives (``wire``), the grpclib codec with its
fast paths (``codec``), float32 arrays straight from response bytes (``arrays``), messages as
plain dicts (``dicts``) and betterproto2's field metadata (``metadata``). Imports only the
bottom layers (errors, checks, the optional numpy) and the generated ``_proto``."""
