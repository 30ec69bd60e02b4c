"""CPU cost of the fake answering a 100 x 768 BatchEmbedText, and of decoding the answer.

    .venv/bin/python bench/fake_batch.py

Prints milliseconds of CPU per call (best of several rounds) for: the fake's server side
(request decode and checks, answer, response encode) with the package's ``Codec`` and with
betterproto2's generic encoder; and the client's decode of the response, fast and generic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textservice._encoding.codec import Codec
from textservice._proto.google.ai.generativelanguage import v1beta
from textservice.testing import answers, validation
from textservice.testing.catalogue import ModelPolicy
from textservice.testing.fake import RequestCodec
from textservice.testing.versions import version_named

TEXTS = [f"sentence {i}: the quick brown fox jumps over the lazy dog" for i in range(100)]
REQUEST = bytes(v1beta.BatchEmbedTextRequest(model="models/embedding-gecko-001", texts=TEXTS))


def cpu_ms(run: Callable[[], object], repeat: int = 7, number: int = 10) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            run()
        best = min(best, (time.process_time() - start) / number)
    return best * 1000


def main() -> None:
    version = version_named("v1beta")
    service = version.service("TextService")
    assert service is not None
    server_codec = RequestCodec()
    context = answers.Context(ModelPolicy(), answers.GenerateTextExtras(), ())

    def respond(encode: Callable[[Any], bytes]) -> bytes:
        request = server_codec.decode(REQUEST, v1beta.BatchEmbedTextRequest)
        validation.validate(service, "BatchEmbedText", request, context.models)
        return encode(answers.batch_embed_text(context, version, request))

    fast = Codec()
    wire = respond(lambda m: fast.encode(m, v1beta.BatchEmbedTextResponse))
    rows = [
        ("fake answers (fast codec)", lambda: respond(lambda m: fast.encode(m, type(m)))),
        ("fake answers (generic encoder)", lambda: respond(bytes)),
        ("client decode (fast codec)", lambda: fast.decode(wire, v1beta.BatchEmbedTextResponse)),
        ("client decode (generic parser)", lambda: v1beta.BatchEmbedTextResponse.parse(wire)),
    ]
    for name, run in rows:
        print(f"{name:34s} {cpu_ms(run, number=3 if 'generic' in name else 10):8.2f} ms CPU")


if __name__ == "__main__":
    main()
