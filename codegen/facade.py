"""The facade renderer: descriptor set -> API model -> plans -> Jinja -> ruff -> {path: text}."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from codegen.descriptors import load_packages
from codegen.errors import CodegenError
from codegen.facade_plan import SERVICE, FacadePlan, plan_facade
from codegen.headers import python_header
from codegen.model import ApiPackage
from codegen.paths import REPO_ROOT, Layout, api_protos
from codegen.protoc import _tool_path
from codegen.templating import environment

TOOL = "textservice codegen (Jinja facade templates, ruff)"
"""The ``Tool:`` line of the facade files' header."""

OUTPUTS = {"__init__.py": "facade.py.j2", "types.py": "types.py.j2"}
"""Each output file of a version's facade and the one template that renders it."""

RUFF_CONFIG = REPO_ROOT / "pyproject.toml"
"""The ruff settings the output is formatted with (the repository's own)."""


def facade_packages(api: Iterable[ApiPackage]) -> list[ApiPackage]:
    """The API packages that get a facade: those with a ``TextService``."""
    return [p for p in api if p.service(SERVICE) is not None]


def render_plan(plan: FacadePlan) -> dict[str, str]:
    """The unformatted files of one plan, keyed by path relative to the package folder."""
    env = environment()
    out: dict[str, str] = {}
    for name, template in OUTPUTS.items():
        header = python_header(plan.sources, f"{TOOL}; template codegen/templates/{template}")
        text = env.get_template(template).render(plan=plan, header=header.rstrip("\n"))
        out[f"{plan.version}/{name}"] = text
    return out


def _ruff() -> str:
    found = shutil.which("ruff", path=_tool_path())
    if found is None:  # _tool_path already checked; keeps mypy and readers sure
        raise CodegenError("ruff is not installed: pip install -e '.[dev]'")
    return found


def format_python(files: Mapping[str, str], config: Path = RUFF_CONFIG) -> dict[str, str]:
    """``files`` after ruff's import and ``__all__`` sorting and formatting, in a temporary folder.

    The repository's ruff settings are used, so the output is what ``make lint`` expects.
    """
    if not files:
        return {}
    ruff = _ruff()
    with tempfile.TemporaryDirectory(prefix="textservice-facade-") as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        common = ["--no-cache", "--config", str(config), "--quiet"]
        steps = [
            [ruff, "check", "--fix", "--select", "I,RUF022", *common, "."],
            [ruff, "format", *common, "."],
        ]
        for args in steps:
            done = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                detail = (done.stdout + done.stderr).replace(str(root) + "/", "")
                raise CodegenError(f"ruff failed on the rendered facade:\n{detail.strip()}")
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in sorted(files)}


def render_packages(packages: Iterable[ApiPackage]) -> dict[str, str]:
    """Render and format the facade of every package that has a TextService."""
    rendered: dict[str, str] = {}
    for api in facade_packages(packages):
        sources = list(api.files)
        if api.service_config:
            sources.append(api.service_config)
        for rel, text in render_plan(plan_facade(api, sources)).items():
            if rel in rendered:
                raise CodegenError(f"two API packages would both generate {rel}")
            rendered[rel] = text
    return format_python(rendered)


def render_facade(descriptor_set: Path, layout: Layout) -> dict[str, str]:
    """The pipeline's ``FacadeRenderer``: every facade file, relative to the package folder."""
    files = [p.as_posix() for p in api_protos(layout.protos)]
    packages = load_packages(descriptor_set.read_bytes(), layout.protos, files)
    return render_packages(packages)
