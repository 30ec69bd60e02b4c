"""Message codec for grpclib channels (placeholder until the fast packed-float codec lands)."""

from grpclib.encoding.proto import ProtoCodec


class Codec(ProtoCodec):
    """placeholder"""
