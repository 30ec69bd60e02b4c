"""Every generated module imports, alone and beside Google's own generated client."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.subprocess
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


@pytest.mark.subprocess
def test_every_generated_version_is_an_attribute_imported_on_first_use() -> None:
    # `import textservice; textservice.v1beta2` raised AttributeError. Every version in
    # protos/ is reachable, and none but v1beta is imported by `import textservice`.
    protos = Path(__file__).resolve().parent.parent / "protos/google/ai/generativelanguage"
    versions = sorted(p.name for p in protos.iterdir() if p.is_dir())
    assert "v1beta2" in versions and "v1beta3" in versions
    code = f"""
import sys
from pathlib import Path
import textservice
versions = {versions!r}
lazy = [v for v in versions if v != "v1beta" and f"textservice.{{v}}" in sys.modules]
assert lazy == [], lazy
for version in versions:
    module = getattr(textservice, version)
    assert module is sys.modules[f"textservice.{{version}}"], version
    assert callable(module.generate_embeddings) and callable(module.iter_embeddings)
    assert version in dir(textservice)
try:
    textservice.v9
except AttributeError as exc:
    assert "has no attribute 'v9'" in str(exc)
else:
    raise AssertionError("textservice.v9 exists")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
