"""Every generated module imports, alone and beside Google's own generated client."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import textservice._proto


def _generated_modules() -> list[str]:
    prefix = textservice._proto.__name__ + "."
    return sorted(m.name for m in pkgutil.walk_packages(textservice._proto.__path__, prefix))


def test_every_generated_module_imports() -> None:
    names = _generated_modules()
    for version in ("v1beta", "v1beta2", "v1beta3"):
        assert f"textservice._proto.google.ai.generativelanguage.{version}" in names
    for name in names:
        module = importlib.import_module(name)
        assert module.__name__ == name


def test_stubs_and_server_bases_exist_per_version() -> None:
    for version in ("v1beta", "v1beta2", "v1beta3"):
        module = importlib.import_module(
            f"textservice._proto.google.ai.generativelanguage.{version}"
        )
        assert hasattr(module, "TextServiceStub")
        assert hasattr(module, "TextServiceBase")
    v1beta2 = importlib.import_module("textservice._proto.google.ai.generativelanguage.v1beta2")
    assert not hasattr(v1beta2, "BatchEmbedTextRequest")


def test_imports_beside_google_client_in_one_process() -> None:
    # A fresh interpreter, so the order of imports is known: Google's first, then ours,
    # then Google's again, each building and serialising a message.
    code = """
import google.ai.generativelanguage_v1beta as g
import google.ai.generativelanguage_v1beta3 as g3
import textservice
from textservice._proto.google.ai.generativelanguage import v1beta as ours
import google.ai.generativelanguage_v1beta2 as g2
wire = g.BatchEmbedTextRequest.serialize(g.BatchEmbedTextRequest(model="models/m", texts=["x"]))
assert ours.BatchEmbedTextRequest.parse(wire).texts == ["x"]
assert g2.EmbedTextRequest(model="models/m", text="t").text == "t"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
