"""Model profiles: what each embedding model family takes, in one table.

The facade, the CLI, ``textservice.ray`` and the fake read a model's rules here and nowhere
else: its service and RPCs, the items one batch call may hold, its input token limit, its
default and allowed output dimensions, whether shortened vectors need normalizing by the
client, how a task type and a title are expressed (request fields, or instruction text in
the content), and which media it embeds. A standard-library-only leaf.

``profile_for(model)`` finds a model's profile by its name: ``models/gemini-embedding-2`` and
``models/gemini-embedding-2-preview`` (any ``-preview...`` variant) share one. A model no
profile names (a tuned model, a newer one) gets ``PROTO``: the behaviour the protos describe
(task type and title as request fields, any inline media, no client-side dimension check).
To add a family, add a ``ModelProfile`` to ``PROFILES`` under its name without ``models/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "GEMINI_EMBEDDING_2",
    "MAX_BATCH_ITEMS",
    "MAX_REQUEST_BYTES",
    "MEDIA_SUFFIXES",
    "PROFILES",
    "PROTO",
    "TASK_INSTRUCTIONS",
    "TASK_NAMES",
    "TASK_TYPE_ALIASES",
    "TITLED_TASK",
    "Instruction",
    "MediaRules",
    "ModelProfile",
    "profile_for",
    "takes_title",
    "task_name",
]

MAX_BATCH_ITEMS = 100
"""The most items one batch call takes: BatchEmbedContents' ``requests`` and BatchEmbedText's
``texts`` (the API answers ``INVALID_ARGUMENT`` beyond; the seed library sent chunks of 100)."""

MAX_REQUEST_BYTES = 20_000_000
"""The largest request the client sends. Google's file-input guide says inline data suits a
total request size under 20 MB; a 2026 Google blog post ("Increased file size limits") raises
inline files to 100 MB. The sources disagree, so the client keeps to the lower one."""

TITLED_TASK = "RETRIEVAL_DOCUMENT"
"""The only task type a title goes with (the API's ``EmbedContentRequest.title`` comment:
"Only applicable when TaskType is RETRIEVAL_DOCUMENT")."""


def takes_title(task: str | None) -> bool:
    """Whether a title may go with ``task`` (a member's name; ``None``: no task type)."""
    return task == TITLED_TASK


TASK_NAMES = (
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
"""The task types (``TaskType`` members but ``TASK_TYPE_UNSPECIFIED``) of v1beta and v1."""

TASK_TYPE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "document": "RETRIEVAL_DOCUMENT",
        "query": "RETRIEVAL_QUERY",
        "similarity": "SEMANTIC_SIMILARITY",
        "qa": "QUESTION_ANSWERING",
        "verification": "FACT_VERIFICATION",
    }
)
"""Short task type names google-generativeai 0.7.2 accepted, each standing for a member."""


def task_name(value: str) -> str | None:
    """The task type member's name for ``value``: a member's name or an alias of
    ``TASK_TYPE_ALIASES``, in any case, with surrounding spaces ignored; ``None`` if it is
    neither (an API version's own enum may know more members: the caller decides)."""
    wanted = value.strip().lower()
    alias = TASK_TYPE_ALIASES.get(wanted)
    return alias if alias is not None else wanted.upper() or None


Instruction = Callable[[str, "str | None"], str]
"""Formats an item's text (and its title, ``None``: none) into the text sent."""


def _query(label: str) -> Instruction:
    def format_query(text: str, title: str | None) -> str:
        return f"task: {label} | query: {text}"

    return format_query


def _document(text: str, title: str | None) -> str:
    return f"title: {title or 'none'} | text: {text}"


TASK_INSTRUCTIONS: Mapping[str, Instruction] = MappingProxyType(
    {
        # Google's embeddings guide (ai.google.dev/gemini-api/docs/embeddings, 2026), for
        # gemini-embedding-2: "You cannot use the task_type field"; the task goes into the
        # text, asymmetric for retrieval (queries and documents differ), symmetric otherwise.
        "RETRIEVAL_QUERY": _query("search result"),
        "QUESTION_ANSWERING": _query("question answering"),
        "FACT_VERIFICATION": _query("fact checking"),
        "CODE_RETRIEVAL_QUERY": _query("code retrieval"),
        "RETRIEVAL_DOCUMENT": _document,
        "CLASSIFICATION": _query("classification"),
        "CLUSTERING": _query("clustering"),
        "SEMANTIC_SIMILARITY": _query("sentence similarity"),
    }
)
"""Each task type's instruction text for models that take the task in the text."""

MEDIA_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".pdf": "application/pdf",
        ".mp3": "audio/mpeg",
        ".wav": "audio/wav",
        ".mp4": "video/mp4",
        ".mov": "video/quicktime",
    }
)
"""The mime type of a file by its suffix (any case), for the media types an embedding model
takes. Written out rather than asked of ``mimetypes``, whose answers depend on the platform's
tables (``.wav`` is ``audio/x-wav`` on some, ``audio/wav`` on others)."""


@dataclass(frozen=True)
class MediaRules:
    """The inline media a model embeds."""

    kinds: Mapping[str, str]
    """Each mime type it takes, and its kind (``image``, ``document``, ``audio``,
    ``video``); empty: any mime type (the server decides)."""
    max_images: int | None = None
    """The most images one item (one ``Content``) may hold."""
    limits: Mapping[str, str] = field(default_factory=dict)
    """What the server checks per kind (documented, not measured by the client)."""

    def kind(self, mime_type: str) -> str | None:
        """The kind of ``mime_type`` (any case), ``None`` if not taken; ``"media"`` for any
        mime type when every one is taken."""
        if not self.kinds:
            return "image" if mime_type.lower().startswith("image/") else "media"
        return self.kinds.get(mime_type.lower())


@dataclass(frozen=True)
class ModelProfile:
    """The rules of one embedding model family (see the module docstring)."""

    family: str
    """The family's model id (``gemini-embedding-2``); ``""`` for ``PROTO``."""
    service: Literal["generative", "text"] = "generative"
    """GenerativeService (EmbedContent, BatchEmbedContents) or the legacy TextService
    (EmbedText, BatchEmbedText)."""
    max_items: int = MAX_BATCH_ITEMS
    """Items per batch call."""
    input_tokens: int | None = None
    """Tokens one text may hold (``None``: not known here)."""
    default_dimension: int | None = None
    """Values per vector without ``output_dimensionality``."""
    dimensions: tuple[int, int] | None = None
    """The ``output_dimensionality`` range the client checks before a call (``None``: any
    positive value goes to the server)."""
    normalize_truncated: bool = True
    """Whether vectors shortened by ``output_dimensionality`` come back not unit-length, so
    the client should normalize them (``normalize=True``)."""
    task_in_text: bool = False
    """The task type and title go into the text (``TASK_INSTRUCTIONS``), never as request
    fields; ``False``: as the request's ``task_type`` and ``title`` fields."""
    media: MediaRules | None = field(default_factory=lambda: MediaRules({}))
    """The inline media it embeds; ``None``: text only."""

    def dimensionality_error(
        self, value: int, model: str, name: str = "output_dimensionality"
    ) -> str | None:
        """Why ``value`` is not an ``output_dimensionality`` the client sends for ``model``
        (``None``: it is one): positive, within ``dimensions`` where the profile has them. The
        one rule and message of the facade, the CLI and ``textservice.ray`` (``name``: what
        the caller calls it)."""
        if value <= 0:
            return f"{name} must be a positive int, got {value}"
        if self.dimensions is not None:
            low, high = self.dimensions
            if not low <= value <= high:
                return f"{name} must be between {low} and {high} for {model}, got {value}"
        return None

    @property
    def rpcs(self) -> tuple[str, str]:
        """Its single and batch RPCs."""
        if self.service == "text":
            return ("EmbedText", "BatchEmbedText")
        return ("EmbedContent", "BatchEmbedContents")

    def instruction(self, task: str | None) -> Instruction | None:
        """How to format each item's text (and title) for ``task`` (a member's name;
        ``None``: none), or ``None`` when the text goes as it is (task and title are
        request fields, or there is no task). ``ValueError`` for a task type this table has
        no instruction for (a member a newer proto adds): its text is Google's to define."""
        if not self.task_in_text or task is None:
            return None
        found = TASK_INSTRUCTIONS.get(task)
        if found is None:
            raise ValueError(
                f"task_type {task} has no instruction text for {self.family} in "
                "textservice._profiles.TASK_INSTRUCTIONS (the task types Google's embeddings "
                f"guide gives one for: {', '.join(TASK_INSTRUCTIONS)})"
            )
        return found


_GEMINI_MEDIA = MediaRules(
    # Google's embeddings guide (2026), gemini-embedding-2: "up to 6 images per request (PNG,
    # JPEG)", "PDF up to 6 pages", "audio up to 180 s (MP3, WAV)", "video up to 120 s (MP4,
    # MOV)", sent as inline_data parts. Both audio/mpeg and audio/mp3 are in use for MP3
    # (and audio/wav, audio/x-wav, audio/wave for WAV), so each is taken.
    kinds={
        "image/png": "image",
        "image/jpeg": "image",
        "application/pdf": "document",
        "audio/mpeg": "audio",
        "audio/mp3": "audio",
        "audio/wav": "audio",
        "audio/x-wav": "audio",
        "audio/wave": "audio",
        "video/mp4": "video",
        "video/quicktime": "video",
    },
    max_images=6,
    limits={"document": "6 pages", "audio": "180 s", "video": "120 s"},
)

GEMINI_EMBEDDING_2 = ModelProfile(
    "gemini-embedding-2",
    input_tokens=8192,
    default_dimension=3072,
    # 128-3,072 (768, 1,536 and 3,072 recommended); shortened vectors come back unit-length
    dimensions=(128, 3072),
    normalize_truncated=False,
    task_in_text=True,
    media=_GEMINI_MEDIA,
)
"""Today's model (GA April 2026, v1beta): text, images, PDFs, audio and video; one
aggregated vector per ``Content``; the task in the text."""

PROFILES: Mapping[str, ModelProfile] = MappingProxyType(
    {
        "gemini-embedding-2": GEMINI_EMBEDDING_2,
        # Text only, 2,048 tokens, 3,072 values (128-3,072 documented; not checked by the
        # client, as before this table: the server decides); shortened vectors need
        # normalizing; task type and title as request fields.
        "gemini-embedding-001": ModelProfile(
            "gemini-embedding-001", input_tokens=2048, default_dimension=3072, media=None
        ),
        # The legacy TextService models (retired by Google on 2025-10-30): 768 values.
        "embedding-gecko": ModelProfile(
            "embedding-gecko",
            service="text",
            input_tokens=1024,
            default_dimension=768,
            normalize_truncated=False,
            media=None,
        ),
    }
)
"""Every family's profile, by its model id."""

PROTO = ModelProfile("")
"""A model no profile names: the protos' behaviour (fields, any media)."""

_PREVIEW = re.compile(r"-preview(?:-[\w.-]*)?\Z")


def profile_for(model: str) -> ModelProfile:
    """The profile of ``model`` (a resource name such as ``"models/gemini-embedding-2"``);
    ``PROTO`` for a model no profile names (any ``tunedModels/...``)."""
    if not model.startswith("models/"):
        return PROTO
    model_id = _PREVIEW.sub("", model.removeprefix("models/"))
    if model_id.startswith("embedding-gecko-"):
        model_id = "embedding-gecko"
    return PROFILES.get(model_id, PROTO)
