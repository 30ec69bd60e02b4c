"""``EmbedSpec``: an embedding call as the engine runs it, its texts aside."""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from textservice._engine.output_formats import OutputStrategy
from textservice._engine.recipes import EmbedRecipe
from textservice._transport.options import RequestOptions

if TYPE_CHECKING:
    from textservice._transport.callpath import CallPath

__all__ = ["EmbedSpec"]

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741
V = TypeVar("V")
R = TypeVar("R", bound=Sized)


@dataclass(frozen=True)
class EmbedSpec(Generic[P, I, V, R]):
    """What an embedding call (``embed_one``, ``embed_many``, ``iter_embed``) runs with besides
    its texts, made once by the facade from the checked arguments."""

    path: CallPath
    """The client's call path."""
    recipe: EmbedRecipe[P, I]
    """How the API version embeds: its RPCs, and how many texts one request holds."""
    params: P
    """What the requests are built from besides the texts (the recipe's ``P``)."""
    options: RequestOptions
    """The call's request options (timeout, retry, metadata), applied to every RPC."""
    output: OutputStrategy[V, R]
    """The output format: ``V`` a vector, ``R`` a batch of them."""
