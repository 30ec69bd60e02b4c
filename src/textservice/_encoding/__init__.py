"""Bytes to values and back: protobuf wire primitives (``wire``), the grpclib codec with its
fast paths (``codec``), float32 arrays straight from response bytes (``arrays``), messages as
plain dicts (``dicts``), betterproto2's field metadata (``metadata``) and what a request
carries for quotas, its model and texts (``requests``). Imports only the bottom layers
(errors, checks, the optional numpy) and the generated ``_proto``."""
