"""The facade renderer: descriptor set -> API model -> plans -> Jinja -> ruff -> {path: text}."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from codegen.errors import CodegenError
from codegen.facade_plan import FacadePlan, package_matches, plan_facade
from codegen.formatting import ruff_files
from codegen.headers import python_header
from codegen.model import ApiPackage
from codegen.templating import environment

TOOL = "textservice codegen (Jinja facade templates, ruff)"
"""The ``Tool:`` line of the facade files' header."""

OUTPUTS = {"__init__.py": "facade.py.j2", "types.py": "types.py.j2"}
"""Each output file of a version's facade and the one template that renders it."""


def facade_packages(api: Iterable[ApiPackage]) -> list[ApiPackage]:
    """The API packages that get a facade: those with an RPC of a shape in the table
    (``codegen.shapes.FRIENDLY_FUNCTIONS``)."""
    return [p for p in api if package_matches(p)]


def render_plan(plan: FacadePlan) -> dict[str, str]:
    """The unformatted files of one plan, keyed by path relative to the package folder."""
    env = environment()
    out: dict[str, str] = {}
    for name, template in OUTPUTS.items():
        header = python_header(plan.sources, f"{TOOL}; template codegen/templates/{template}")
        text = env.get_template(template).render(plan=plan, header=header.rstrip("\n"))
        out[f"{plan.version}/{name}"] = text
    return out


def format_python(files: Mapping[str, str]) -> dict[str, str]:
    """``files`` after ruff's import and ``__all__`` sorting and formatting."""
    return ruff_files(files, "I,RUF022", "the rendered facade")


def render_packages(packages: Iterable[ApiPackage]) -> dict[str, str]:
    """Render and format the facade of every package with an RPC shape the facade wraps."""
    rendered: dict[str, str] = {}
    for api in facade_packages(packages):
        for rel, text in render_plan(plan_facade(api)).items():
            if rel in rendered:
                raise CodegenError(f"two API packages would both generate {rel}")
            rendered[rel] = text
    return format_python(rendered)


def render_facade(packages: list[ApiPackage]) -> dict[str, str]:
    """The pipeline ``Renderer`` of the facades: every facade file, relative to the package."""
    return render_packages(packages)
