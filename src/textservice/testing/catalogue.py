"""The fake's models: a catalogue like the API's, and which model names each RPC serves.

``DEFAULT_CATALOGUE`` is what the fake's ModelService lists (ListModels, GetModel) unless told
otherwise: today's embedding model and the legacy TextService models, with the fields the
real catalogue shows for them. ``ModelPolicy`` decides, per call, whether a model is served
(else ``NOT_FOUND``, worded as the API words it) and how long its embeddings are.

Supported methods. Each model lists its ``supported_generation_methods`` as the API does
(``embedContent``, ``embedText``, ``countTokens``, ...). By default the fake serves every
known model through every RPC, so a suite written for the legacy TextService keeps working
whatever model it names. With ``strict_methods=True`` it answers ``NOT_FOUND`` when the
model does not list the RPC's method, as the real API does (``embedding-gecko-001`` through
``EmbedContent``, ``gemini-embedding-001`` through ``EmbedText``). A batch RPC counts as the
single one it batches (``BatchEmbedContents`` as ``embedContent``), as in the API's catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._checks import is_int
from textservice._profiles import PROFILES
from textservice.testing.versions import build_message

DEFAULT_DIMENSION = 768
"""Length of the embeddings of a model whose catalogue entry gives none (tuned models, models
named only by the test, the legacy ``embedding-gecko-001``)."""

MAX_DIMENSION = 65536
"""The largest embedding length the fake accepts."""

MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+")
"""A model resource name: ``models/NAME`` or ``tunedModels/NAME``."""

BASE_MODEL_NAME = re.compile(r"models/[^/\s]+")
"""A base model's name, as ``GetModel`` takes it."""


def check_dimension(dim: object, name: str = "dim") -> int:
    """``dim`` as an ``int`` in ``1..MAX_DIMENSION``; ``TypeError``/``ValueError`` otherwise."""
    if not is_int(dim):
        raise TypeError(f"{name} must be an int, not {type(dim).__name__}")
    if not 1 <= dim <= MAX_DIMENSION:
        raise ValueError(f"{name} must be between 1 and {MAX_DIMENSION}, got {dim}")
    return dim


@dataclass(frozen=True)
class CatalogueModel:
    """One model of the fake's catalogue: the fields of the API's ``Model`` message, and the
    length of its embeddings.

    ``supported_generation_methods=None`` stands for every method the fake serves (the entry
    of a model named only by its name, such as ``known_models=["models/mine"]``).
    """

    name: str
    """``models/NAME`` (or ``tunedModels/NAME``)."""
    version: str = ""
    display_name: str = ""
    description: str = ""
    input_token_limit: int = 0
    output_token_limit: int = 0
    supported_generation_methods: tuple[str, ...] | None = None
    embedding_dimension: int | None = None
    """Length of its embeddings (``None``: ``DEFAULT_DIMENSION``)."""
    base_model_id: str = ""
    temperature: float | None = None
    max_temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    thinking: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not MODEL_NAME.fullmatch(self.name):
            raise ValueError(
                f"known_models: {self.name!r} is not of the form models/NAME or tunedModels/NAME"
            )
        methods = self.supported_generation_methods
        if methods is not None:
            if isinstance(methods, str):
                raise TypeError("supported_generation_methods must be a sequence of names")
            object.__setattr__(self, "supported_generation_methods", tuple(methods))
        if self.embedding_dimension is not None:
            check_dimension(self.embedding_dimension, "embedding_dimension")

    @property
    def dimension(self) -> int:
        """Length of this model's embeddings."""
        return self.embedding_dimension or DEFAULT_DIMENSION

    def supports(self, generation_method: str) -> bool:
        """Whether the model lists ``generation_method`` (``embedContent``, ...)."""
        methods = self.supported_generation_methods
        return methods is None or generation_method in methods

    def message(self, model_type: Any, every_method: Sequence[str]) -> Any:
        """This entry as a ``Model`` message of one API version (``model_type``).

        Fields the version's ``Model`` lacks are left out; ``every_method`` stands in for
        ``supported_generation_methods=None``.
        """
        methods = self.supported_generation_methods
        values: dict[str, Any] = {
            "name": self.name,
            "base_model_id": self.base_model_id,
            "version": self.version,
            "display_name": self.display_name,
            "description": self.description,
            "input_token_limit": self.input_token_limit,
            "output_token_limit": self.output_token_limit,
            "supported_generation_methods": list(every_method if methods is None else methods),
            "temperature": self.temperature,
            "max_temperature": self.max_temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "thinking": self.thinking,
        }
        return build_message(model_type, values)


_EMBEDDING_DESCRIPTION = "Obtain a distributed representation of a text."
_ONE, _TWO = PROFILES["gemini-embedding-001"], PROFILES["gemini-embedding-2"]

DEFAULT_CATALOGUE: tuple[CatalogueModel, ...] = (
    CatalogueModel(
        "models/text-bison-001",
        version="001",
        display_name="Text Bison",
        description="Model targeted for text generation.",
        input_token_limit=8196,
        output_token_limit=1024,
        supported_generation_methods=("generateText", "countTextTokens", "createTunedTextModel"),
        temperature=0.7,
        top_p=0.95,
        top_k=40,
    ),
    CatalogueModel(
        "models/embedding-gecko-001",
        version="001",
        display_name="Embedding Gecko",
        description=_EMBEDDING_DESCRIPTION,
        input_token_limit=1024,
        output_token_limit=1,
        supported_generation_methods=("embedText", "countTextTokens"),
        embedding_dimension=768,
    ),
    CatalogueModel(
        "models/gemini-embedding-001",
        version="001",
        display_name="Gemini Embedding 001",
        description=_EMBEDDING_DESCRIPTION,
        input_token_limit=_ONE.input_tokens or 0,
        output_token_limit=1,
        supported_generation_methods=("embedContent", "countTextTokens", "countTokens"),
        embedding_dimension=_ONE.default_dimension,
    ),
    CatalogueModel(
        "models/gemini-embedding-2",
        version="2",
        display_name="Gemini Embedding 2",
        description="Obtain a distributed representation of text, images, documents, audio "
        "and video.",
        input_token_limit=_TWO.input_tokens or 0,
        output_token_limit=1,
        supported_generation_methods=("embedContent", "countTokens"),
        embedding_dimension=_TWO.default_dimension,
    ),
)
"""The catalogue the fake serves unless told otherwise, as the API listed these models.

``models/gemini-embedding-2`` (3,072 dimensions: text, images, PDFs, audio and video) is
today's embedding model, ``models/gemini-embedding-001`` (3,072, text only) the one before;
``models/embedding-gecko-001`` (768) and ``models/text-bison-001`` are the legacy TextService
models (Google retired them; the real API answers ``NOT_FOUND`` for them now).
"""

DEFAULT_KNOWN_MODELS: tuple[str, ...] = tuple(model.name for model in DEFAULT_CATALOGUE)
"""Names of the models the fake knows unless told otherwise (any ``tunedModels/…`` too)."""

_DEFAULTS = {model.name: model for model in DEFAULT_CATALOGUE}


def catalogue_entry(name: str) -> CatalogueModel | None:
    """The ``DEFAULT_CATALOGUE`` entry called ``name``, if any."""
    return _DEFAULTS.get(name)


def default_dimension(model: str) -> int:
    """Length of ``model``'s embeddings in the default catalogue (``DEFAULT_DIMENSION`` for a
    model it does not list)."""
    entry = _DEFAULTS.get(model)
    return entry.dimension if entry is not None else DEFAULT_DIMENSION


def not_found(model: str, version: str, generation_method: str) -> GRPCError:
    """The API's ``NOT_FOUND`` for a model it does not serve through a method."""
    return GRPCError(
        Status.NOT_FOUND,
        f"{model} is not found for API version {version}, or is not supported for "
        f"{generation_method}. Call ListModels to see the list of available models and their "
        "supported methods.",
    )


def model_not_found(name: str, version: str) -> GRPCError:
    """``NOT_FOUND`` for a model name the catalogue does not have (GetModel)."""
    return GRPCError(Status.NOT_FOUND, f"Model {name} is not found for API version {version}.")


@dataclass(frozen=True)
class ModelPolicy:
    """Which models the fake serves, through which RPCs, with which embedding length."""

    models: tuple[CatalogueModel, ...] = DEFAULT_CATALOGUE
    """The catalogue: served, and listed by ListModels in this order."""
    any_model: bool = False
    """Also serve every other well-formed name (through every RPC, not listed)."""
    accept_tuned_models: bool = True
    """Serve every ``tunedModels/…`` name, listed or not (through every RPC)."""
    strict_methods: bool = False
    """``NOT_FOUND`` when a model's ``supported_generation_methods`` lack the RPC's method."""
    embedding_dimension: int | None = None
    """Length of every model's embeddings (``None``: each model's own)."""
    strict_models: bool = False
    """``INVALID_ARGUMENT`` for what the API accepts and ignores for a model (the task type
    and title fields sent to ``gemini-embedding-2``), so a client that sends it fails."""

    @classmethod
    def of(
        cls,
        known_models: Iterable[str | CatalogueModel] | None,
        accept_tuned_models: bool = True,
        *,
        strict_methods: bool = False,
        embedding_dimension: int | None = None,
        strict_models: bool = False,
    ) -> ModelPolicy:
        """A policy from user arguments.

        ``known_models``: names (a name of ``DEFAULT_CATALOGUE`` takes its entry, any other
        name gets an entry serving every method) or ``CatalogueModel`` entries; ``None``:
        the default catalogue, and every other well-formed name served too.
        """
        if embedding_dimension is not None:
            check_dimension(embedding_dimension, "embedding_dimension")
        for name, flag in (("strict_methods", strict_methods), ("strict_models", strict_models)):
            if not isinstance(flag, bool):  # "false" from a config file is truthy
                raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
        tuned, strict = bool(accept_tuned_models), strict_methods
        if known_models is None:
            return cls(DEFAULT_CATALOGUE, True, tuned, strict, embedding_dimension, strict_models)
        if isinstance(known_models, str | CatalogueModel):
            raise TypeError("known_models must be a collection of names, not a single one")
        entries: dict[str, CatalogueModel] = {}
        for item in known_models:
            if isinstance(item, CatalogueModel):
                entry = item
            elif isinstance(item, str):
                entry = _DEFAULTS.get(item) or CatalogueModel(item)
            else:
                raise TypeError(
                    f"known_models: expected names or CatalogueModel, not {type(item).__name__}"
                )
            entries.setdefault(entry.name, entry)
        return cls(
            tuple(entries.values()), False, tuned, strict, embedding_dimension, strict_models
        )

    @property
    def known_models(self) -> frozenset[str] | None:
        """Names of the catalogued models (``None`` when every name is served)."""
        return None if self.any_model else frozenset(model.name for model in self.models)

    def listed(self) -> tuple[CatalogueModel, ...]:
        """What ListModels lists: the base models of the catalogue (``models/…``), in order."""
        return tuple(m for m in self.models if m.name.startswith("models/"))

    def find(self, name: str) -> CatalogueModel | None:
        """The entry of a served model (a catalogued one, or one standing for any name the
        policy serves); ``None`` if ``name`` is not served."""
        for model in self.models:
            if model.name == name:
                return model
        tuned = self.accept_tuned_models and name.startswith("tunedModels/")
        if (self.any_model or tuned) and MODEL_NAME.fullmatch(name):
            return CatalogueModel(name)
        return None

    def check_served(self, model: str, version: str, generation_method: str) -> CatalogueModel:
        """The entry of ``model``, or the ``NOT_FOUND`` the API gives."""
        entry = self.find(model)
        if entry is None or (self.strict_methods and not entry.supports(generation_method)):
            raise not_found(model, version, generation_method)
        return entry

    def dimension_of(self, model: str) -> int:
        """Length of ``model``'s embeddings."""
        if self.embedding_dimension is not None:
            return self.embedding_dimension
        entry = self.find(model)
        return entry.dimension if entry is not None else default_dimension(model)
