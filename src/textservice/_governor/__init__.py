"""The rate governor: calls of one client share its quota instead of fighting over it.

The engine asks before every RPC and reports how it went::

    key = QuotaKey("BatchEmbedContents", model)
    async with governor.admit(key, Cost.of_texts(batch), max_wait=60.0) as ticket:
        try:
            reply = await rpc(...)          # ticket.waited: seconds spent waiting to get here
        except ResourceExhausted as exc:
            decision = ticket.rejected(Rejection.from_details(exc.details), max_wait=60.0)
            # Readmit(delay): admit again (it holds the call until the pause ends);
            # Refusal(...): raise now, naming decision.quota_id / decision.quota_value
        else:
            ticket.succeeded()

``admit`` raises ``QuotaRefused`` at once when waiting cannot help. Per (method, model) key:

- **Adaptive concurrency (AIMD)**: the calls in flight are capped by a limit that starts at
  ``max_concurrency``, is multiplied by ``decrease`` on RESOURCE_EXHAUSTED (once per burst
  of calls sent together; never below 1) and grows by ``increase / limit`` per success
  (never above ``max_concurrency``). See ``limits.AdaptiveLimit``.
- **One pause for all**: a rejection's ``RetryInfo`` delay (without one, or with one under
  ``backoff``, 0 s included: ``backoff``, doubling per rejection in a row, at most a minute)
  holds every new call of the key until it passes; the held calls are then released spread
  over ``jitter`` times the delay, each at its own random point, so they do not all hit the
  server in the same instant. A call already in flight when the pause starts is not
  recalled; its rejection just extends the pause if it asks for longer.
- **Per-minute limits**: ``requests_per_minute``, ``texts_per_minute`` and
  ``tokens_per_minute`` (tokens by ``estimate_tokens``: UTF-8 bytes / 4, rounded up),
  times ``share``, plus what a rejection by a per-minute quota teaches: the limit its
  ``QuotaFailure`` names (``quota_value``, times ``share``), kept ten quota minutes (so a
  raised quota is found again), or, when it names none, what this client got through in the
  last minute, kept one quota minute (a guess from a short burst can be far too low).
  Counted by a sliding-window log of the last minute (``limits.UsageWindow``), which never
  lets more than a limit through in any 60 s, so it respects fixed-minute and sliding-minute
  server quotas alike. A call counts from its admission for a minute plus ``margin`` (its
  way to the server), and once answered, for at least a minute after its answer (the server
  saw it by then, however long its way took: a new connection's setup, a busy machine). A
  rejected call counts: it was sent, and a server refusing every call is asked no more often
  than its limit allows.
- **Fail now** (``Refusal``) instead of waiting, when a per-day quota is exhausted, a quota's
  limit is 0, or one call costs more than a per-minute limit: remembered for the server's
  delay (else one quota minute), so the key's other calls, waiting or new, fail at once too
  instead of each asking the server again. And per call: when the server's delay, or what
  is left of the key's pause, exceeds the ``max_wait`` given to ``admit`` /
  ``Ticket.rejected`` (the client passes its ``Retry.max_retry_delay``: one knob for "the
  longest server-asked wait"); the key stays paused, and each call decides by its own.
- **Observable**: ``snapshot()`` (``QuotaStats``: calls sent, rejected, refused, seconds
  calls waited (summed over calls) and seconds of throttling (clock time during which calls
  were held back), the current limit, whether throttled), and INFO log lines on the
  ``textservice.governor`` logger when throttling of a key starts and ends (DEBUG for each
  limit change and per-minute wait).

Threads and event loops. One client serves several event loops (the caller's, the sync
bridge's) and threads, so one governor does too. All state sits behind one
``threading.Lock``, held only for bookkeeping, never across an ``await``. Whoever changes
the state (a new call, a reported outcome, a timer) runs the dispatch under that lock: it
admits waiters in order and hands each its ticket with ``loop.call_soon_threadsafe`` on the
waiter's own loop, so a call finishing on loop A wakes a waiter on loop B without either
loop blocking. A waiter held until a known time (a pause, a per-minute window) arms a timer
on its own loop (``Clock.call_at``); when it fires, the dispatch runs again. No timer lives
on a loop other than its waiter's, so a loop that stops cannot strand waiters elsewhere.
A cancelled waiter leaves the queue; a ticket that reaches a waiter already cancelled is
given back. The clock is injectable: ``ManualClock`` makes every unit test instant and
deterministic (with a seeded ``random.Random`` for the jitter).
"""

from textservice._governor.clock import Clock, ManualClock, MonotonicClock
from textservice._governor.cost import BYTES_PER_TOKEN, Cost, Unit, estimate_tokens
from textservice._governor.governor import (
    Admission,
    Decision,
    QuotaKey,
    QuotaKeyStats,
    QuotaRefused,
    QuotaStats,
    RateGovernor,
    Readmit,
    Refusal,
    Ticket,
)
from textservice._governor.settings import GovernorSettings
from textservice._governor.signals import Rejection, Violation

__all__ = [
    "BYTES_PER_TOKEN",
    "Admission",
    "Clock",
    "Cost",
    "Decision",
    "GovernorSettings",
    "ManualClock",
    "MonotonicClock",
    "QuotaKey",
    "QuotaKeyStats",
    "QuotaRefused",
    "QuotaStats",
    "RateGovernor",
    "Readmit",
    "Refusal",
    "Rejection",
    "Ticket",
    "Unit",
    "Violation",
    "estimate_tokens",
]
