"""Regenerating on a real API update needs no hand edit.

A scratch copy of the repository gets Google's real protos of other days
(``tests/protos/googleapis``, verbatim): the whole v1alpha folder of 2026-08-22, v1beta's
``generative_service.proto`` and ``content.proto`` of 2024-06 (older than the rest of
``protos/``: no ``ModalityTokenCount``, no ``BidiGenerateContent``), and a second RPC of
EmbedContent's shape in v1 (``EmbedContentV2``, as an API grows). Then, in that copy and with
nothing else changed, ``make generate``, ``accept-api``, ``check-generated`` and ``lint`` pass,
the fast tests of the suites that take their API versions from what was generated pass (see
``version_suites``), and a user's script calls the new functions against the fake (and
embeds with gemini-embedding-2's profile in every version, the old ones included). One copy
holds all three updates, so the checks run once.

Not the whole of ``make test-fast``: a proto update changes only the generated code, so the
tests it can break are those that reach the generated facades and the fake's versions; the
rest of the fast suite (the engine, the governor, the CLI's own rules) ran against the same
runtime code in the suite itself. That subset takes a quarter of ``test-fast``'s time.

A second, smaller copy renames embed_content's options (same field numbers): the facade and
the fake keep their rules under the new names, gemini-embedding-2's profile rules too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codegen.golden import FIXTURE_PROTOS
from codegen.paths import PROTO_PACKAGE_DIR, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

GOOGLEAPIS = FIXTURE_PROTOS / "googleapis"
V1ALPHA = GOOGLEAPIS / "f8291d2b" / PROTO_PACKAGE_DIR / "v1alpha"
"""Google's v1alpha folder at googleapis f8291d2b (2026-08-22)."""
OLD_V1BETA = GOOGLEAPIS / "cb060cbb75" / PROTO_PACKAGE_DIR / "v1beta"
"""v1beta's generative_service.proto and content.proto at googleapis cb060cbb75 (2024-06)."""

COPIED = ("codegen", "src", "tests", "bench", "protos", "docs", ".ci")
"""The folders of the repository the copy gets (and every file at its top)."""

EMBED_CONTENT = """    option (google.api.method_signature) = "model,content";
  }
"""
EMBED_CONTENT_V2 = """
  // Generates a text embedding vector from the input `Content`, the newer way.
  rpc EmbedContentV2(EmbedContentRequest) returns (EmbedContentResponse) {
    option (google.api.method_signature) = "model,content";
  }
"""

USER_SCRIPT = """
import warnings

from grpclib.const import Status

import textservice
from textservice import v1, v1alpha, v1beta
from textservice.errors import Unimplemented
from textservice.testing import FakeServer, expected_content_embedding
from textservice.testing.vectors import expected_parts_embedding

warnings.simplefilter("error")  # nothing the script does is deprecated
fake = FakeServer()
client = textservice.Client(api_key="key", channel_factory=fake.channel)
MODEL = "models/gemini-embedding-001"
with client:
    for version in (v1alpha, v1beta, v1):
        one = version.embed_content(MODEL, "hello", output_dimensionality=8, client=client)
        assert one["embedding"] == expected_content_embedding(MODEL, "hello", dimension=8)
        many = version.embed_content(
            MODEL, ["a", {"text": "b", "title": "B"}], task_type="document", client=client
        )
        assert len(many["embedding"]) == 2 and len(many["embedding"][1]) == 3072
        counted = version.count_tokens(MODEL, ["one two", "three"], client=client)
        assert counted["total_tokens"] == 3, counted
        names = [m["name"] for m in version.list_models(client=client)]
        assert MODEL in names, names
    # v1alpha's new RPCs have their functions: JSON-like arguments and a str for a Content in
    # a mapping are checked and the requests sent (the fake does not implement these RPCs)
    for call in (
        lambda: v1alpha.predict(MODEL, [{"prompt": "a cat"}], parameters={"n": 1}, client=client),
        lambda: v1alpha.create_cached_content({"model": MODEL, "contents": ["hi"]}, client=client),
        lambda: v1.embed_content_v2(MODEL, "hi", client=client),
    ):
        try:
            call()
        except Unimplemented:
            pass
        else:
            raise AssertionError("the fake implements no such RPC")
    sent = [(c.version, c.method) for c in fake.calls[-3:]]
    assert sent == [("v1alpha", "Predict"), ("v1alpha", "CreateCachedContent"),
                    ("v1", "EmbedContentV2")], sent
# gemini-embedding-2's profile holds in every version: the task as instruction text, never the
# task fields (the strict fake refuses them), a caption with an image as ONE vector
TWO, PNG = "models/gemini-embedding-2", b"\\x89PNG\\r\\n\\x1a\\n" + bytes(64)
strict = FakeServer(strict_models=True)
with textservice.Client(api_key="key", channel_factory=strict.channel) as client:
    for version in (v1alpha, v1beta, v1):
        items = ["hi", {"text": "b", "title": "B"},
                 {"parts": ["a cat", {"mime_type": "image/png", "data": PNG}]}]
        got = version.embed_content(TWO, items, task_type="document", output_dimensionality=128,
                                    client=client)
        assert got["embedding"] == [
            expected_parts_embedding(TWO, ["title: none | text: hi"], 128),
            expected_parts_embedding(TWO, ["title: B | text: b"], 128),
            expected_parts_embedding(TWO, ["title: none | text: a cat", ("image/png", PNG)], 128),
        ], version
        one = version.embed_content(TWO, "hi", task_type="query", client=client)
        query = expected_parts_embedding(TWO, ["task: search result | query: hi"])
        assert one["embedding"] == query
        assert strict.calls[-1].request.task_type is None
        try:
            version.embed_content(TWO, "hi", output_dimensionality=64, client=client)
        except ValueError as error:
            assert "between 128 and 3072" in str(error), error
        else:
            raise AssertionError("64 dimensions for gemini-embedding-2 were accepted")
    assert strict.count(status=Status.OK) == len(strict.calls) == 6, strict.calls
print("user script: ok")
"""


def _copy_repository(root: Path) -> None:
    # and not what .gitignore keeps out of a clone (bench's work folder: a benchmark run leaves
    # reference modules there, which the copy's lint would check, having no .git to ignore them)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".work", ".venv*")
    for name in COPIED:
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    for path in REPO_ROOT.iterdir():  # Makefile, pyproject.toml, README.md, CHANGELOG.md...
        if path.is_file() and path.name != ".git":  # a worktree's .git is a file
            shutil.copy(path, root / path.name)
    cache = REPO_ROOT / ".mypy_cache"  # mypy checks changed files only (by hash), if present
    if cache.is_dir():
        shutil.copytree(cache, root / ".mypy_cache")


def _update_protos(protos: Path) -> None:
    api = protos / PROTO_PACKAGE_DIR
    shutil.copytree(V1ALPHA, api / "v1alpha")
    for path in OLD_V1BETA.iterdir():
        shutil.copy(path, api / "v1beta" / path.name)
    v1 = api / "v1" / "generative_service.proto"
    text = v1.read_text(encoding="utf-8")
    assert text.count(EMBED_CONTENT) == 1
    v1.write_text(text.replace(EMBED_CONTENT, EMBED_CONTENT + EMBED_CONTENT_V2), encoding="utf-8")


def _env(root: Path) -> dict[str, str]:
    """The repository's tools (this Python's environment), the copy's package and tests; not
    the flags of a ``make`` running this test (its jobserver is not the copy's)."""
    paths = [str(root / "src"), str(root / "tests")]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return dict(env, PYTHONPATH=os.pathsep.join(paths), PYTHONDONTWRITEBYTECODE="1")


def _make(root: Path, target: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``make TARGET`` in the copy, with this environment's tools as its venv (``-o``: never
    made again there)."""
    venv = Path(sys.prefix)
    command = ["make", "-C", str(root), f"VENV={venv}", "-o", str(venv / ".installed"), target]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=_env(root), timeout=900)
    return done, time.monotonic() - start


VERSION_SUITES = ("support.fake_helpers", "textservice._versions()")
"""What a test module holds when it takes its API versions from what was generated: the
helpers that list the fake's versions by service, or the package's list of versions."""


def version_suites(tests: Path) -> list[str]:
    """The test modules (paths under ``tests``) that take their versions from what was
    generated: the ones a proto update reaches."""
    return sorted(
        str(path.relative_to(tests.parent))
        for path in tests.rglob("test_*.py")
        if any(mark in path.read_text(encoding="utf-8") for mark in VERSION_SUITES)
    )


def test_the_version_suites_and_the_fast_markers_are_found() -> None:
    found = version_suites(REPO_ROOT / "tests")
    for suite in (
        "facade/test_facade.py",
        "facade/embed_content/test_embed_content.py",
        "testing/test_fake_service.py",
    ):
        assert f"tests/{suite}" in found
    assert "tests/governor/test_governor.py" not in found and len(found) >= 20
    assert fast_markers(REPO_ROOT / "Makefile") == "not slow and not subprocess and not network"


def fast_markers(makefile: Path) -> str:
    """``make test-fast``'s marker expression, read from the Makefile (its one home)."""
    recipe = makefile.read_text(encoding="utf-8").split("\ntest-fast:", 1)[1].split("\n\n")[0]
    found = re.search(r'-m "([^"]+)"', recipe)
    assert found is not None, recipe
    return found.group(1)


def _fast_tests(root: Path, suites: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """``make test-fast``'s selection of ``suites``, in the copy."""
    markers = fast_markers(root / "Makefile")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", markers]
    command += suites
    start = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, env=_env(root), cwd=root, timeout=900
    )
    return done, time.monotonic() - start


def test_googles_update_regenerates_and_passes_with_no_other_edit(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    _copy_repository(root)
    _update_protos(root / "protos")
    timings: dict[str, float] = {}
    for target in ("generate", "accept-api", "check-generated", "lint"):
        done, timings[target] = _make(root, target)
        assert done.returncode == 0, (target, done.stdout[-4000:], done.stderr[-4000:])
        if target == "generate":
            assert "recorded" in done.stdout and "new public functions" in done.stdout
    suites = version_suites(root / "tests")
    done, timings["version suites"] = _fast_tests(root, suites)
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-4000:])
    assert " passed" in done.stdout and " failed" not in done.stdout
    accepted = (root / "codegen" / "public_api.txt").read_text(encoding="utf-8")
    for new in ("textservice.v1alpha.predict(", "textservice.v1.embed_content_v2("):
        assert new in accepted
    start = time.monotonic()
    script = subprocess.run(
        [sys.executable, "-c", USER_SCRIPT],
        capture_output=True,
        text=True,
        env=_env(root),
        cwd=tmp_path,
        timeout=300,
    )
    timings["user script"] = time.monotonic() - start
    assert script.returncode == 0, script.stderr[-4000:]
    assert "user script: ok" in script.stdout
    print("timings:", {k: round(v, 1) for k, v in timings.items()})


RENAMES = (
    ("optional TaskType task_type = 3", "optional TaskType purpose = 3"),
    ("optional string title = 4", "optional string document_title = 4"),
    ("optional int32 output_dimensionality = 5", "optional int32 dimensions = 5"),
)

RENAMED_SCRIPT = """
from grpclib.exceptions import GRPCError

import textservice
from textservice import v1
from textservice._proto.google.ai.generativelanguage import v1 as pb
from textservice.testing import FakeServer, expected_content_embedding
from textservice.testing.validation import CHECKS
from textservice.testing.vectors import expected_parts_embedding

fake = FakeServer()
client = textservice.Client(api_key="key", channel_factory=fake.channel)
MODEL = "models/gemini-embedding-001"
with client:
    got = v1.embed_content(
        MODEL, ["a", {"text": "b", "title": "B"}], purpose="document", document_title="T",
        client=client,
    )
    assert got["embedding"] == [
        expected_content_embedding(MODEL, "a", "RETRIEVAL_DOCUMENT", "T"),
        expected_content_embedding(MODEL, "b", "RETRIEVAL_DOCUMENT", "B"),
    ]
    try:
        v1.embed_content(MODEL, "a", document_title="T", client=client)
    except ValueError as error:
        assert "RETRIEVAL_DOCUMENT" in str(error)
    else:
        raise AssertionError("a title without the document task type was accepted")
# gemini-embedding-2's profile rules find the renamed fields by number, in the facade and the
# fake: the task as text (the strict fake refuses the task fields), the dimension range
TWO = "models/gemini-embedding-2"
strict = FakeServer(strict_models=True)
with textservice.Client(api_key="key", channel_factory=strict.channel) as client:
    got = v1.embed_content(TWO, "a", purpose="document", document_title="T", dimensions=128,
                           client=client)
    assert got["embedding"] == expected_parts_embedding(TWO, ["title: T | text: a"], 128)
    sent = strict.calls[-1].request
    assert sent.purpose is None and sent.document_title is None and sent.dimensions == 128
    try:
        v1.embed_content(TWO, "a", dimensions=64, client=client)
    except ValueError as error:
        assert "dimensions must be between 128 and 3072" in str(error), error
    else:
        raise AssertionError("64 dimensions for gemini-embedding-2 were accepted")
content = pb.Content(parts=[pb.Part(text="a")])
for fields, named in (({"purpose": pb.TaskType(2)}, "purpose"),
                      ({"document_title": "T"}, "document_title"),
                      ({"dimensions": 64}, "dimensions")):
    request = pb.EmbedContentRequest(model=TWO, content=content, **fields)
    try:
        CHECKS["EmbedContent"](request, strict.models)
    except GRPCError as error:
        assert error.message.startswith(named + ":"), (named, error.message)
    else:
        raise AssertionError(f"the strict fake took {named}")
print("renamed: ok")
"""


def test_renamed_options_keep_their_rules_in_the_facade_and_the_fake(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("src", "protos"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    proto = root / "protos" / PROTO_PACKAGE_DIR / "v1" / "generative_service.proto"
    text = proto.read_text(encoding="utf-8")
    for old, new in RENAMES:
        assert text.count(old) == 1
        text = text.replace(old, new)
    proto.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "generate", "--protos", str(root / "protos"),
         "--package", str(root / "src" / "textservice")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    script = subprocess.run(
        [sys.executable, "-c", RENAMED_SCRIPT],
        capture_output=True,
        text=True,
        env=_env(root),
        cwd=tmp_path,
        timeout=300,
    )
    assert script.returncode == 0, script.stderr[-4000:]
    assert "renamed: ok" in script.stdout
