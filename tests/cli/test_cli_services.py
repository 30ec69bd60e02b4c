"""``textservice embed``'s choice of service and its vector options, without a process."""

from __future__ import annotations

import inspect
from dataclasses import replace

import click
import pytest

from textservice._profiles import GEMINI_EMBEDDING_2, TASK_NAMES
from textservice._proto.google.ai.generativelanguage.v1beta import TaskType
from textservice.cli import services
from textservice.cli.connect import Connection, make_client
from textservice.cli.digests import VectorSettings
from textservice.cli.embed_command import embed
from textservice.cli.services import EmbedOptions, parse_task_type, pick_service
from textservice.cli.tokens import Counter
from textservice.client import Client

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"


@pytest.mark.parametrize(
    ("model", "choice", "service"),
    [
        (GEMINI, "auto", "generative"),
        (GECKO, "auto", "text"),
        ("models/embedding-gecko-002", "auto", "text"),
        ("models/embedding-001", "auto", "generative"),
        ("tunedModels/mine", "auto", "generative"),
        (GEMINI, "text", "text"),
        (GECKO, "generative", "generative"),
    ],
)
def test_the_service_follows_the_model_unless_forced(model: str, choice: str, service: str) -> None:
    assert pick_service(model, choice) == service


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("retrieval_document", "RETRIEVAL_DOCUMENT"),
        ("Document", "RETRIEVAL_DOCUMENT"),
        ("QUERY", "RETRIEVAL_QUERY"),
        ("qa", "QUESTION_ANSWERING"),
        (" clustering ", "CLUSTERING"),
        (None, None),
    ],
)
def test_task_types_are_the_librarys_names_in_any_case(given: str | None, name: str | None) -> None:
    assert parse_task_type(given) == name


@pytest.mark.parametrize("given", ["bogus", "", "2", "retrieval-document"])
def test_an_unknown_task_type_lists_the_names_and_offers_no_numbers(given: str) -> None:
    with pytest.raises(click.BadParameter) as info:
        parse_task_type(given)
    message = info.value.format_message()
    assert "retrieval_document" in message and "short names document" in message
    assert "number" not in message


def test_the_help_names_every_task_type_of_the_enum() -> None:
    (option,) = [p for p in embed.params if p.name == "task_type"]
    assert isinstance(option, click.Option) and option.help
    for member in TaskType:
        if member.value:
            assert member.name.lower() in option.help


def test_titles_bring_retrieval_document_when_no_task_type_was_given() -> None:
    options = EmbedOptions.checked(GEMINI, "auto", None, None, False)
    assert options.for_input(0) == (options, None)
    titled, note = options.for_input(1)
    assert titled.task_type == "RETRIEVAL_DOCUMENT"
    assert note is not None and "(1 record)" in note
    document = EmbedOptions.checked(GEMINI, "auto", "RETRIEVAL_DOCUMENT", None, False)
    assert document.for_input(5) == (document, None)
    query = EmbedOptions.checked(GEMINI, "auto", "RETRIEVAL_QUERY", None, False)
    with pytest.raises(click.UsageError, match="not retrieval_query"):
        query.for_input(2)
    with pytest.raises(click.UsageError, match="only GenerativeService"):
        EmbedOptions.checked(GECKO, "auto", None, None, False).for_input(1)


def test_the_settings_name_every_option_and_textservice_keeps_the_old_ones() -> None:
    options = EmbedOptions.checked(GEMINI, "auto", "CLUSTERING", 768, True)
    assert options.settings(fake=True) == VectorSettings(
        GEMINI,
        server="fake",
        service="generative",
        task_type="CLUSTERING",
        output_dimensionality=768,
        normalize=True,
    )
    plain = EmbedOptions.checked(GEMINI, "auto", None, None, False).settings(fake=False)
    assert plain == VectorSettings(GEMINI, service="generative")
    forced = EmbedOptions.checked(GEMINI, "text", None, None, False).settings(fake=False)
    assert forced == VectorSettings(GEMINI)  # TextService: no service named, as before
    assert forced.seed() != plain.seed()


def test_an_output_dimensionality_outside_the_models_range_is_a_usage_error() -> None:
    two = "models/gemini-embedding-2"
    with pytest.raises(
        click.BadParameter,
        match=r"--output-dimensionality must be between 128 and 3072 for .+, got 64",
    ):
        EmbedOptions.checked(two, "auto", None, 64, False)
    assert EmbedOptions.checked(two, "auto", None, 768, False).output_dimensionality == 768
    # gemini-embedding-001's range is the server's to check, as before
    assert EmbedOptions.checked(GEMINI, "auto", None, 64, False).output_dimensionality == 64


def test_the_task_type_help_is_made_from_the_task_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "TASK_TYPE_ALIASES", {"doc": "RETRIEVAL_DOCUMENT"})
    text = services.task_type_help()
    assert "retrieval_document (doc)" in text
    assert "retrieval_query, " in text  # no alias left for it
    assert all(name.lower() in text for name in TASK_NAMES)
    assert "models/gemini-embedding-2 gets it as instruction text" in text


def test_the_dimensionality_help_is_made_from_the_models_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shorter = replace(GEMINI_EMBEDDING_2, dimensions=(256, 1536), default_dimension=1536)
    monkeypatch.setattr(services, "GEMINI_EMBEDDING_2", shorter)
    assert "gemini-embedding-2 takes 256-1,536 of its 1,536" in services.dimensionality_help()


def test_the_clis_concurrency_defaults_are_the_clients() -> None:
    default = inspect.signature(Client).parameters["max_concurrency"].default
    (option,) = [p for p in embed.params if p.name == "concurrency"]
    assert option.default == default
    assert Counter(GEMINI).concurrency == default
    with make_client(Connection(fake=True, api_key_file=None)) as client:
        assert client.max_concurrency == default
    with make_client(Connection(fake=True, api_key_file=None), max_concurrency=3) as client:
        assert client.max_concurrency == 3
