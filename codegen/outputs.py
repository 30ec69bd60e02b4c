"""What ``make generate`` writes: betterproto2's modules and one renderer per other output."""

from __future__ import annotations

from codegen.facade import render_facade
from codegen.paths import Layout
from codegen.pipeline import GeneratedTree, Renderer, build
from codegen.required import render_required_fields

RENDERERS: tuple[Renderer, ...] = (render_facade, render_required_fields)
"""The facades (``textservice/<version>/``) and the fake's required fields."""


def build_all(layout: Layout) -> GeneratedTree:
    """Every generated file of the package."""
    return build(layout, RENDERERS)


__all__ = ["RENDERERS", "build_all"]
