"""The facade renderer: descriptor set -> API model -> plans -> Jinja -> ruff -> {path: text}."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from codegen.errors import CodegenError
from codegen.facade_plan import FacadePlan, ServicePlan, has_functions, plan_facade
from codegen.formatting import ruff_files
from codegen.headers import python_header
from codegen.model import ApiPackage
from codegen.templating import environment

TOOL = "textservice codegen (Jinja, ruff)"
"""The ``Tool:`` line of the facade files' header."""

INDEX, SERVICE, TYPES = "facade.py.j2", "facade_service.py.j2", "types.py.j2"
"""The templates of a version's package index (``__init__.py``), of each service's module
(``_<service>.py``) and of its result types (``types.py``)."""


def dependency_packages(api: Iterable[ApiPackage]) -> set[str]:
    """Packages whose types another package uses (``google.longrunning`` for v1beta's tuned
    models): vendored for the API versions, not API versions themselves."""
    packages = list(api)
    names = {p.package for p in packages}
    used: set[str] = set()
    for p in packages:
        reached = {m.package for m in p.messages.values()} | {e.package for e in p.enums.values()}
        used |= (reached & names) - {p.package}
    return used


def facade_packages(api: Iterable[ApiPackage]) -> list[ApiPackage]:
    """The API packages that get a facade: those with a unary RPC, except the packages other
    API packages depend on."""
    packages = list(api)
    dependencies = dependency_packages(packages)
    return [p for p in packages if has_functions(p) and p.package not in dependencies]


def _index_doc(plan: FacadePlan) -> str:
    """The package docstring: the version, its services and functions, what is skipped."""
    lines = [
        f"The ``{plan.package}`` API: a function for every unary RPC of its services.",
        plan.service_doc,
    ]
    for service in plan.services:
        names = ", ".join(f"``{n}``" for n in service.functions if not n.endswith("_async"))
        lines.append(f"{service.name}: {names}.")
    lines.append(
        "Each function has an ``_async`` twin taking the same arguments (awaitable, or an async "
        "iterator for the ``iter_`` and paged list functions). Results are plain dicts typed by "
        f"the TypedDicts in ``{plan.module}.types``. Each service's module is imported on first "
        "use."
    )
    if plan.streaming:
        streamed = ", ".join(plan.streaming)
        lines.append(
            f"Streaming RPCs get no function (the facade wraps unary RPCs only): {streamed}. "
            "Their grpclib stubs are in ``textservice._proto``."
        )
    return "\n\n".join(line for line in lines if line)


def _service_doc(plan: FacadePlan, service: ServicePlan) -> str:
    head = f"``{plan.package}.{service.name}``: its functions in ``{plan.module}``."
    tail = "Streaming RPCs get no function: " + ", ".join(service.streaming) + "."
    return "\n\n".join(
        part for part in (head, service.doc, tail if service.streaming else "") if part
    )


def render_plan(plan: FacadePlan) -> dict[str, str]:
    """The unformatted files of one plan, keyed by path relative to the package folder."""
    env = environment()

    def header(template: str) -> str:
        return python_header(plan.sources, f"{TOOL}; template codegen/templates/{template}").rstrip(
            "\n"
        )

    out = {
        f"{plan.version}/__init__.py": env.get_template(INDEX).render(
            plan=plan, header=header(INDEX), plan_doc=_index_doc(plan)
        ),
        f"{plan.version}/types.py": env.get_template(TYPES).render(plan=plan, header=header(TYPES)),
    }
    for service in plan.services:
        out[f"{plan.version}/{service.module}.py"] = env.get_template(SERVICE).render(
            plan=plan, s=service, header=header(SERVICE), service_doc=_service_doc(plan, service)
        )
    return out


def format_python(files: Mapping[str, str]) -> dict[str, str]:
    """``files`` after ruff's import and ``__all__`` sorting, unused-import removal (templates
    import what any module may need) and formatting."""
    return ruff_files(files, "I,RUF022,F401", "the rendered facade")


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
