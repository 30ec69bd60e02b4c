"""Docstrings from proto comments, and the service config's policies (no protoc)."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen import docstrings
from codegen.descriptors import clean_comment
from codegen.errors import CodegenError
from codegen.model import MethodPolicy, RetryPolicy
from codegen.service_config import parse_duration, parse_service_config

# text a proto comment can hold (no carriage returns or NULs, which source files normalise)
comment_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"),
    max_size=200,
)


@given(comment_text)
def test_escaped_text_round_trips_through_a_docstring_literal(text: str) -> None:
    assert ast.literal_eval('"""' + docstrings.escape(text) + '"""') == text


@pytest.mark.parametrize(
    "text",
    ['say """hi"""', "C:\\path\\n", 'ends with a "quote"', "back\\", '""""', "\\"],
)
def test_rendered_docstrings_parse_back_to_the_comment(text: str) -> None:
    source = f'def f():\n    """{docstrings.render(text, 4)}"""\n'
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert ast.get_docstring(function, clean=False) == text


def test_long_lines_are_wrapped_and_multiline_docstrings_close_on_their_own_line() -> None:
    long = "word " * 40
    rendered = docstrings.render("Summary.\n\n" + long, 4)
    lines = rendered.split("\n")
    assert all(len(line) <= 100 for line in lines)
    assert lines[-1] == "    "  # the closing quotes get their own line
    assert docstrings.render("One line.", 8) == "One line."
    assert docstrings.render("", 4) == ""
    unbreakable = "x" * 150
    assert docstrings.render(unbreakable, 0) == unbreakable  # left whole, not cut


def test_sections() -> None:
    text = docstrings.section(
        "Args", [("model", "Required. The model.\n\nMore."), ("x", "")], width=40
    )
    assert text == (
        "Args:\n    model: Required. The model.\n\n        More.\n"
        "    x: (no description in the protos)"
    )
    wrapped = docstrings.section("Args", [("name", "a " * 30)], width=30).split("\n")
    assert all(len(line) <= 30 for line in wrapped)
    assert all(line.startswith("        ") for line in wrapped[2:])
    assert docstrings.block("Returns", "A.\n\nB.", 80) == "Returns:\n    A.\n\n    B."
    assert docstrings.join("a", "", "b\n") == "a\n\nb"


def test_clean_comment_dedents() -> None:
    raw = " Required. The name.\n Examples:\n  models/x\n\n"
    assert clean_comment(raw) == "Required. The name.\nExamples:\n models/x"


CONFIG = {
    "methodConfig": [
        {
            "name": [{"service": "a.S", "method": "M"}],
            "timeout": "60s",
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "1s",
                "maxBackoff": "10s",
                "backoffMultiplier": 1.3,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        },
        {"name": [{"service": "a.S"}], "timeout": "2.5s"},
        {"name": [{}], "timeout": "99s"},
    ]
}


def test_service_config_precedence_exact_then_service_then_default() -> None:
    config = parse_service_config(CONFIG, "cfg.json")
    retry = RetryPolicy(5, 1.0, 10.0, 1.3, ("UNAVAILABLE",))
    assert config.policy("a.S", "M") == MethodPolicy(60.0, retry)
    assert config.policy("a.S", "Other") == MethodPolicy(2.5, None)
    assert config.policy("b.T", "M") == MethodPolicy(99.0, None)
    no_default = parse_service_config({"methodConfig": CONFIG["methodConfig"][:1]}, "cfg.json")
    assert no_default.policy("b.T", "M") == MethodPolicy()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "methodConfig"),
        ({"methodConfig": [{"name": [{}], "timeout": "60"}]}, 'like "60s"'),
        ({"methodConfig": [{"name": [{"method": "M"}]}]}, "must name its service"),
        ({"methodConfig": [{"retryPolicy": {"maxAttempts": 2}}]}, "lacks"),
    ],
)
def test_bad_service_configs_are_clear_errors(data: object, words: str) -> None:
    with pytest.raises(CodegenError, match=words) as info:
        parse_service_config(data, "v9/cfg.json")
    assert "v9/cfg.json" in str(info.value)


def test_durations() -> None:
    assert parse_duration("0.5s", "x") == 0.5
    with pytest.raises(CodegenError):
        parse_duration(60, "x")
