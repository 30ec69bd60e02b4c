"""What ``make generate`` writes: betterproto2's modules and one renderer per other output."""

from __future__ import annotations

from codegen.facade import render_facade
from codegen.paths import Layout
from codegen.pipeline import GeneratedTree, Renderer, build
from codegen.required import render_required_fields
from codegen.roles import render_field_roles

RENDERERS: tuple[Renderer, ...] = (render_facade, render_required_fields, render_field_roles)
"""The facades (``textservice/<version>/``), the fake's required fields and field roles."""


def build_all(layout: Layout) -> GeneratedTree:
    """Every generated file of the package."""
    return build(layout, RENDERERS)


__all__ = ["RENDERERS", "build_all"]
