"""``grpc-status-details-bin`` encoded and decoded with our generated ``google.rpc`` messages.

grpclib's own status-details codec needs Google's ``protobuf`` runtime, which ``textservice``
does not depend on; this one does the same job with the betterproto2 classes we generate.
Client and fake server both use it, so error details round-trip exactly as Google sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import betterproto2
from grpclib.const import Status as GrpcStatus
from grpclib.encoding.base import StatusDetailsCodecBase

from textservice._encoding.codec import check_wire
from textservice._proto.message_pool import default_message_pool

# ``google.rpc`` and ``google.protobuf`` (which holds all of descriptor.proto) are imported
# when the first status is encoded or decoded, not with ``textservice``: they cost ~30 ms of
# import time that a call which never fails does not need.


class StatusDetailsCodec(StatusDetailsCodecBase):
    """Packs ``google.rpc.Status`` details (RetryInfo, QuotaFailure, …) into trailers and back.

    Decoding yields the detail messages whose types are known (all of ``google.rpc``'s error
    details); a detail of an unknown type is kept as its ``google.protobuf.Any``.
    """

    def encode(
        self, status: GrpcStatus, message: str | None, details: Sequence[betterproto2.Message]
    ) -> bytes:
        """Serialise a ``google.rpc.Status`` carrying ``details``."""
        from textservice._proto.google import protobuf as pb_any
        from textservice._proto.google import rpc

        packed = [pb_any.Any.pack(detail, default_message_pool) for detail in details or ()]
        return bytes(rpc.Status(code=status.value, message=message or "", details=packed))

    def decode(self, status: GrpcStatus, message: str | None, data: bytes) -> list[Any]:
        """Parse trailer bytes into detail messages; raises ``ValueError`` on malformed bytes
        (a client call drops them, keeping its status: ``rpc._unary``)."""
        from textservice._proto.google import rpc  # registers every detail type in the pool

        try:
            check_wire(data, rpc.Status)  # garbage is refused fast, not parsed for a minute
            parsed = rpc.Status.parse(data)
            out: list[Any] = []
            for container in parsed.details:
                known = default_message_pool.url_to_type.get(container.type_url)
                if known is None:
                    out.append(container)
                else:
                    check_wire(container.value, known)
                    out.append(known.parse(container.value))
        except Exception as exc:  # betterproto2 raises assorted errors on garbage
            raise ValueError(f"malformed grpc-status-details-bin: {exc}") from exc
        return out
