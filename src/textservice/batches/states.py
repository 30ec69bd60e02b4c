"""A batch's states: which ones are final, and what each means for whoever waits on it.

The API names them ``BATCH_STATE_*`` (the reference's ``BatchState``); the guide's samples say
``JOB_STATE_*``, which the generated enum reads as aliases of the same members
(``protos/.../textservice_batch_mode.proto``), so a batch's ``state`` is always a
``BatchState`` member named ``BATCH_STATE_*``.
"""

from __future__ import annotations

from textservice._proto.google.ai.generativelanguage.v1beta import BatchState

__all__ = ["FINAL", "BatchState", "is_final", "short_name", "succeeded"]

FINAL = frozenset(
    {
        BatchState.BATCH_STATE_SUCCEEDED,
        BatchState.BATCH_STATE_FAILED,
        BatchState.BATCH_STATE_CANCELLED,
        BatchState.BATCH_STATE_EXPIRED,
    }
)
"""The states a batch never leaves."""


def is_final(state: BatchState) -> bool:
    """Whether a batch in ``state`` is done (succeeded, failed, cancelled or expired)."""
    return state in FINAL


def succeeded(state: BatchState) -> bool:
    """Whether a batch in ``state`` has results."""
    return state is BatchState.BATCH_STATE_SUCCEEDED


def short_name(state: BatchState) -> str:
    """``"running"`` for ``BATCH_STATE_RUNNING`` (for messages)."""
    return str(state.name).removeprefix("BATCH_STATE_").lower()
