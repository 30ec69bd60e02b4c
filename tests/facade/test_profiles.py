"""The model profiles (``textservice._profiles``): one home for each model's rules."""

from __future__ import annotations

import ast
from pathlib import Path

import betterproto2
import pytest
from support.fake_helpers import GENERATIVE_VERSIONS, module

from textservice import _profiles
from textservice._profiles import (
    GEMINI_EMBEDDING_2,
    MAX_BATCH_ITEMS,
    PROFILES,
    PROTO,
    TASK_INSTRUCTIONS,
    TASK_NAMES,
    profile_for,
    task_name,
)
from textservice._routes import uses_text_service

SRC = Path(_profiles.__file__).parent
TASK_TYPE_VERSIONS = [v for v in GENERATIVE_VERSIONS if hasattr(module(v), "TaskType")]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("models/gemini-embedding-2", "gemini-embedding-2"),
        ("models/gemini-embedding-2-preview", "gemini-embedding-2"),
        ("models/gemini-embedding-2-preview-03-2026", "gemini-embedding-2"),
        ("models/gemini-embedding-001", "gemini-embedding-001"),
        ("models/embedding-gecko-001", "embedding-gecko"),
        ("models/embedding-gecko-002", "embedding-gecko"),
        ("models/gemini-embedding-3", ""),
        ("models/gemini-embedding-20", ""),
        ("tunedModels/gemini-embedding-2", ""),
    ],
)
def test_a_model_finds_its_family_and_an_unknown_one_the_protos_behaviour(
    model: str, family: str
) -> None:
    assert profile_for(model).family == family


def test_the_families_rules_are_the_documented_ones() -> None:
    two, one, gecko = (
        PROFILES[f] for f in ("gemini-embedding-2", "gemini-embedding-001", "embedding-gecko")
    )
    assert (two.input_tokens, one.input_tokens) == (8192, 2048)
    assert two.default_dimension == one.default_dimension == 3072
    assert two.dimensions == (128, 3072)
    assert two.task_in_text and not one.task_in_text and not PROTO.task_in_text
    assert not two.normalize_truncated and one.normalize_truncated
    assert one.media is None and gecko.media is None and two.media is not None
    assert two.media.max_images == 6
    assert gecko.rpcs == ("EmbedText", "BatchEmbedText")
    assert two.rpcs == ("EmbedContent", "BatchEmbedContents")
    assert {p.max_items for p in PROFILES.values()} == {MAX_BATCH_ITEMS} == {100}
    assert uses_text_service("models/embedding-gecko-001")
    assert not uses_text_service("models/gemini-embedding-2")


@pytest.mark.parametrize("version", TASK_TYPE_VERSIONS)
def test_every_task_type_of_the_protos_has_a_name_and_an_instruction(version: str) -> None:
    # every version's members, whichever protos are generated (an older one has fewer)
    enum: type[betterproto2.Enum] = module(version).TaskType
    members = {m.name for m in enum} - {"TASK_TYPE_UNSPECIFIED"}
    assert members <= set(TASK_NAMES) == set(TASK_INSTRUCTIONS)


@pytest.mark.parametrize(
    ("task", "title", "sent"),
    [
        ("RETRIEVAL_QUERY", None, "task: search result | query: hi"),
        ("QUESTION_ANSWERING", None, "task: question answering | query: hi"),
        ("FACT_VERIFICATION", None, "task: fact checking | query: hi"),
        ("CODE_RETRIEVAL_QUERY", None, "task: code retrieval | query: hi"),
        ("RETRIEVAL_DOCUMENT", "T", "title: T | text: hi"),
        ("RETRIEVAL_DOCUMENT", None, "title: none | text: hi"),
        ("CLASSIFICATION", None, "task: classification | query: hi"),
        ("CLUSTERING", None, "task: clustering | query: hi"),
        ("SEMANTIC_SIMILARITY", None, "task: sentence similarity | query: hi"),
    ],
)
def test_gemini_embedding_2_instructions_are_the_guides_table(
    task: str, title: str | None, sent: str
) -> None:
    instruction = GEMINI_EMBEDDING_2.instruction(task)
    assert instruction is not None and instruction("hi", title) == sent


def test_no_instruction_without_a_task_or_where_tasks_are_fields() -> None:
    assert GEMINI_EMBEDDING_2.instruction(None) is None
    assert PROFILES["gemini-embedding-001"].instruction("RETRIEVAL_QUERY") is None
    assert PROTO.instruction("RETRIEVAL_QUERY") is None


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("query", "RETRIEVAL_QUERY"),
        (" Document ", "RETRIEVAL_DOCUMENT"),
        ("clustering", "CLUSTERING"),
    ],
)
def test_task_names_and_aliases_in_any_case(given: str, name: str) -> None:
    assert task_name(given) == name


def _literals(path: Path, value: object) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and type(n.value) is type(value) and n.value == value
    ]


@pytest.mark.parametrize(
    "module",
    [
        "_facade/content_calls.py",
        "_engine/recipes.py",
        "_engine/embed.py",
        "testing/validation.py",
        "cli/embed_command.py",
        "cli/services.py",
        "ray.py",
    ],
)
def test_the_batch_limit_and_title_rule_live_only_in_the_profiles(module: str) -> None:
    path = SRC / module
    assert _literals(path, 100) == []
    assert _literals(path, "RETRIEVAL_DOCUMENT") == []
