"""``RateGovernor``: admission of calls per (method, model) key, shared by every caller.

See the package docstring for the design; this module holds the state machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Literal, NamedTuple

from textservice._governor.clock import Clock, MonotonicClock
from textservice._governor.cost import UNITS, Cost, Unit
from textservice._governor.limits import AdaptiveLimit, Entry, UsageWindow
from textservice._governor.settings import GovernorSettings
from textservice._governor.signals import Rejection, Violation

log = logging.getLogger("textservice.governor")

LEARNED_MINUTES = 10
"""A limit a rejection states (``quota_value``) is kept this many quota minutes, then
forgotten (the next rejection teaches it again), so a raised quota is found within that
time."""

GUESSED_MINUTES = 1
"""A limit guessed from what got through (a rejection stating none) is kept this many
quota minutes: a guess taken from a short burst may be far below the quota (1/60 of it
for a job's first second), and costs the job no more than this."""


class QuotaKey(NamedTuple):
    """What quotas are counted per: an RPC and a model (``""`` for calls without one)."""

    method: str
    model: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.model}" if self.model else self.method


RefusalKind = Literal["daily", "no_quota", "too_large", "too_long"]


@dataclass(frozen=True)
class Refusal:
    """The governor's "fail now": waiting cannot get this call through (or would take longer
    than the call's ``max_wait``). The caller raises, naming the quota from here."""

    key: QuotaKey
    kind: RefusalKind
    """``daily``: a per-day quota is exhausted; ``no_quota``: its limit is 0;
    ``too_large``: one call costs more than a per-minute limit; ``too_long``: the server's
    delay (or what is left of the key's pause) exceeds the call's ``max_wait``."""
    message: str
    delay: float | None = None
    """The delay the server asked for, if it gave one."""
    violation: Violation | None = None
    """The quota at fault, when the server named it."""
    rejection: Rejection | None = None
    """The server's answer that led to this refusal (``None``: a client-side limit)."""

    @property
    def quota_id(self) -> str | None:
        """The ``quota_id`` at fault, if known."""
        return self.violation.quota_id if self.violation is not None else None

    @property
    def quota_value(self) -> int | None:
        """The limit of the quota at fault, if known."""
        return self.violation.quota_value if self.violation is not None else None


@dataclass(frozen=True)
class Readmit:
    """Send the call again through ``admit``, which holds it until the key's pause ends."""

    delay: float
    """Seconds until the pause of the call's key ends (0: no pause)."""


Decision = Readmit | Refusal
"""What ``Ticket.rejected`` says to do."""


class QuotaRefused(Exception):
    """``admit`` refused a call at once (see ``refusal``); the caller raises its own error."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


@dataclass(frozen=True)
class QuotaKeyStats:
    """Counters and state of one key."""

    key: QuotaKey
    sent: int
    """Calls admitted (and so sent)."""
    succeeded: int
    rejected: int
    """Calls the server answered with RESOURCE_EXHAUSTED."""
    failed: int
    """Calls that ended otherwise (other errors, cancellation)."""
    refused: int
    """Calls the governor failed without sending them (``QuotaRefused``)."""
    waited: float
    """Seconds admitted calls spent waiting for admission, summed."""
    waiting: int
    """Calls waiting for admission now."""
    in_flight: int
    limit: float
    """The adaptive concurrency limit now."""
    paused_for: float
    """Seconds until a server-requested pause ends (0: none)."""
    throttled: bool
    """Whether calls are being held back for quota (a pause or a per-minute limit)."""
    throttled_for: float
    """Seconds (of the clock) during which calls were held back for quota, so far: the
    time a job lost to its quota, however many calls waited at once."""
    limits: Mapping[Unit, float]
    """The per-minute limits in force (configured or learned, times ``share``)."""


@dataclass(frozen=True)
class QuotaStats:
    """Every key's ``QuotaKeyStats`` at one moment, with totals over keys: each counter here
    is the keys' counter of the same name, added up."""

    keys: Mapping[QuotaKey, QuotaKeyStats]
    sent: int = field(init=False)
    """Calls admitted."""
    rejected: int = field(init=False)
    """RESOURCE_EXHAUSTED answers."""
    refused: int = field(init=False)
    """Calls failed without being sent."""
    waited: float = field(init=False)
    """Seconds spent waiting for admission."""
    throttled_for: float = field(init=False)
    """Seconds during which calls were held back for quota, added up over keys."""

    def __post_init__(self) -> None:
        for total in fields(self):
            if not total.init:
                value = sum(getattr(stats, total.name) for stats in self.keys.values())
                object.__setattr__(self, total.name, value)

    @property
    def throttled(self) -> bool:
        """Whether any key is throttled."""
        return any(s.throttled for s in self.keys.values())


@dataclass(slots=True, eq=False, repr=False)
class Ticket:
    """An admitted call. Report how it ended: ``succeeded()``, ``rejected(...)`` (for
    RESOURCE_EXHAUSTED) or ``failed()`` (anything else); leaving ``admit`` without a report
    counts as ``failed()``."""

    _governor: RateGovernor
    _state: _KeyState
    cost: Cost
    _entry: Entry
    _epoch: int
    waited: float
    """Seconds this call waited for admission: not time spent on the call itself (a
    caller can leave it out of a per-RPC deadline)."""
    _done: bool = field(default=False, init=False)

    @property
    def key(self) -> QuotaKey:
        """The call's key."""
        return self._state.key

    @property
    def done(self) -> bool:
        """Whether the outcome was reported."""
        return self._done

    def succeeded(self) -> None:
        """The call succeeded."""
        self._governor._finish(self, "succeeded")

    def failed(self) -> None:
        """The call ended without a quota answer (another error, or cancelled)."""
        self._governor._finish(self, "failed")

    def rejected(self, rejection: Rejection, *, max_wait: float | None = None) -> Decision:
        """The server answered RESOURCE_EXHAUSTED; returns ``Readmit`` or ``Refusal``.

        ``max_wait``: the longest delay this call waits out before its retry (``None``: any);
        a longer one is a ``Refusal`` (``too_long``) for this call only: the key is still
        paused for the delay, and its other calls decide by their own ``max_wait``.
        """
        return self._governor._rejected(self, rejection, max_wait)


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Ticket]
    cost: Cost
    jitter: float
    """Where in a pause's release spread this waiter goes (0..1)."""
    since: float
    max_wait: float | None
    """The longest pause this waiter sits out (``None``: any)."""
    armed: float | None = None
    """Due time of this waiter's pending wake-up timer."""


@dataclass(frozen=True)
class _Lesson:
    """A per-minute limit learned from a rejection."""

    limit: float
    when: float
    stated: bool
    """Named by the server (``quota_value``), not guessed from what got through."""


@dataclass(eq=False)
class _KeyState:
    key: QuotaKey
    limit: AdaptiveLimit
    window: UsageWindow
    waiters: deque[_Waiter] = field(default_factory=deque)
    in_flight: int = 0
    pause_until: float = float("-inf")
    pause_spread: float = 0.0
    pause_reason: Rejection | None = None
    """The rejection whose delay set ``pause_until``."""
    backoff_step: int = 0
    refusal: Refusal | None = None
    refused_until: float = float("-inf")
    learned: dict[Unit, _Lesson] = field(default_factory=dict)
    """Per-minute limits learned from rejections, by unit."""
    throttled_since: float | None = None
    throttled_before: float = 0.0
    """Seconds of throttling that ended."""
    sent: int = 0
    succeeded: int = 0
    rejected: int = 0
    failed: int = 0
    refused: int = 0
    waited: float = 0.0


_Check = Literal["admit", "pause", "slot", "window", "never"]


def _resolve(future: asyncio.Future[Ticket], ticket: Ticket) -> None:
    """On the waiter's loop: hand over the ticket, or give it back if nobody waits."""
    if future.done():
        ticket._governor._abandon(ticket)
    else:
        future.set_result(ticket)


def _reject(future: asyncio.Future[Ticket], error: QuotaRefused) -> None:
    if not future.done():
        future.set_exception(error)


class RateGovernor:
    """Admits calls per (method, model) key within quotas; shared by every caller of a client.

    ``async with governor.admit(key, cost) as ticket:`` waits until the call may be sent,
    then the caller reports its outcome on ``ticket``. Safe to use from any thread and any
    event loop at once.
    """

    def __init__(
        self,
        settings: GovernorSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings if settings is not None else GovernorSettings()
        self._clock: Clock = clock if clock is not None else MonotonicClock()
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._keys: dict[QuotaKey, _KeyState] = {}
        self._configured: dict[Unit, float] = {
            unit: limit for unit in UNITS if (limit := self._settings.limit(unit))
        }
        """The configured per-minute limits (times ``share``): what ``_limits`` gives, as it
        is, for a key that learned none (the common case, checked on every admission)."""

    @property
    def settings(self) -> GovernorSettings:
        """The settings in force."""
        return self._settings

    def forget(self) -> None:
        """Start over with no key known (a child process after a fork: the calls in flight
        and waiting were the parent's, and the lock may have been held by one of its
        threads, which the child does not have)."""
        self._lock = threading.Lock()
        self._keys = {}

    def admit(
        self,
        key: QuotaKey | tuple[str, str],
        cost: Cost | None = None,
        *,
        max_wait: float | None = None,
    ) -> Admission:
        """``async with governor.admit(key, cost) as ticket:`` a slot for one call.

        Raises ``QuotaRefused`` (on entry) when the call cannot be let through by waiting, or
        when the key is paused for longer than ``max_wait`` seconds (``None``: no limit).
        """
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise TypeError(f"key must be a QuotaKey(method, model) (two str), not {key!r}")
        if cost is not None and not isinstance(cost, Cost):
            raise TypeError(f"cost must be a Cost, not {type(cost).__name__}")
        return Admission(self, QuotaKey(*key), cost if cost is not None else Cost(), max_wait)

    # -- admission --------------------------------------------------------------------------

    async def acquire(self, key: QuotaKey, cost: Cost, max_wait: float | None = None) -> Ticket:
        """Wait for admission of one call of ``key`` costing ``cost``; its ``Ticket``.

        ``max_wait``: the longest server-asked pause this call waits out; a longer one (now,
        or a later rejection's while it waits) raises ``QuotaRefused`` at once.
        Prefer ``admit``, which also reports ``failed()`` if the caller does not.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._state(key)
            now = self._clock.now()
            self._expire_refusal(state, now)
            if state.refusal is not None:
                state.refused += 1
                raise QuotaRefused(state.refusal)
            oversize = self._oversize(state, cost, now)
            if oversize is not None:
                state.refused += 1
                raise QuotaRefused(oversize)
            too_long = self._pause_too_long(state, max_wait, now)
            if too_long is not None:
                state.refused += 1
                raise QuotaRefused(too_long)
            jitter = self._rng.random()
            if not state.waiters and self._check(state, cost, jitter, now)[0] == "admit":
                self._end_throttling(state, now, "calls go through without waiting")
                return self._grant(state, cost, waited=0.0, now=now)
            waiter = _Waiter(loop, loop.create_future(), cost, jitter, now, max_wait)
            state.waiters.append(waiter)
            self._dispatch(state, now)
        try:
            return await waiter.future
        except asyncio.CancelledError:
            self._cancel(state, waiter)
            raise

    def _cancel(self, state: _KeyState, waiter: _Waiter) -> None:
        with self._lock:
            if waiter in state.waiters:
                state.waiters.remove(waiter)
                self._dispatch(state, self._clock.now())
                return
        future = waiter.future
        if not future.done():
            future.cancel()  # a ticket on its way is given back by ``_resolve``
        elif not future.cancelled() and future.exception() is None:
            self._abandon(future.result())

    def _state(self, key: QuotaKey) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            s = self._settings
            state = _KeyState(
                key,
                AdaptiveLimit(s.max_concurrency, s.decrease, s.increase),
                UsageWindow(s.minute * (1 + s.margin)),
            )
            self._keys[key] = state
        return state

    def _lesson(self, state: _KeyState, unit: Unit, now: float) -> _Lesson | None:
        found = state.learned.get(unit)
        if found is None:
            return None
        minutes = LEARNED_MINUTES if found.stated else GUESSED_MINUTES
        return found if now - found.when < minutes * self._settings.minute else None

    def _learned(self, state: _KeyState, unit: Unit, now: float) -> float | None:
        found = self._lesson(state, unit, now)
        return None if found is None else found.limit

    def _limits(self, state: _KeyState, now: float) -> Mapping[Unit, float]:
        """The per-minute limits in force for ``state``'s key: configured, or learned (the
        lower of the two). Not to be changed by the caller (it may be ``_configured``)."""
        if not state.learned:  # the fast path: no quota was met
            return self._configured
        limits: dict[Unit, float] = {}
        for unit in UNITS:
            values = [v for v in (self._configured.get(unit), self._learned(state, unit, now)) if v]
            if values:
                limits[unit] = min(values)
        return limits

    def _learn(self, state: _KeyState, rejection: Rejection, now: float) -> None:
        """Take the per-minute limits a rejection reveals as client-side limits."""
        for violation in rejection.violations:
            unit = violation.unit
            if violation.period != "minute" or unit is None:
                continue
            if violation.quota_value:
                limit = violation.quota_value * self._settings.share
                state.learned[unit] = _Lesson(limit, now, stated=True)
                continue
            # The limit is not said: what got through in the last minute is what this
            # client can have of it (the least seen, while the guess is fresh), unless the
            # server stated it lately.
            previous = self._lesson(state, unit, now)
            if previous is not None and previous.stated:
                continue
            used = state.window.accepted(unit, now)
            if used < 1:
                continue
            guess = float(min(used, previous.limit) if previous is not None else used)
            state.learned[unit] = _Lesson(guess, now, stated=False)

    def _oversize(self, state: _KeyState, cost: Cost, now: float) -> Refusal | None:
        for unit, limit in self._limits(state, now).items():
            if cost.amount(unit) > limit:
                return Refusal(
                    state.key,
                    "too_large",
                    f"{state.key}: one call of {cost.amount(unit)} {unit} exceeds the limit of "
                    f"{limit:g} {unit} per minute; send smaller batches",
                )
        return None

    def _check(
        self, state: _KeyState, cost: Cost, jitter: float, now: float
    ) -> tuple[_Check, float | None]:
        """Whether a call may go now, else what holds it and until when (if a time)."""
        release = state.pause_until + jitter * state.pause_spread
        if now < release:
            return "pause", release
        if state.in_flight >= state.limit.slots:
            return "slot", None
        ready = state.window.ready_at(now, cost, self._limits(state, now))
        if ready is None:
            return "never", None
        if ready > now:
            return "window", ready
        return "admit", None

    def _grant(self, state: _KeyState, cost: Cost, *, waited: float, now: float) -> Ticket:
        entry = state.window.add(now, cost)
        state.in_flight += 1
        state.sent += 1
        state.waited += waited
        return Ticket(self, state, cost, entry, state.limit.epoch, waited)

    def _dispatch(self, state: _KeyState, now: float) -> None:
        """Admit the waiters that may go, in order; arm timers for those held by time.

        A waiter held by a pause is skipped (a later one whose release point in the spread
        comes earlier goes first); the first one held by the concurrency limit or a
        per-minute limit stops the scan, so a costly call is not overtaken forever.
        """
        self._expire_refusal(state, now)
        if state.refusal is not None:
            while state.waiters:
                self._fail_waiter(state, state.waiters.popleft(), state.refusal)
            return
        held_by_time = False
        for waiter in list(state.waiters):
            check, until = self._check(state, waiter.cost, waiter.jitter, now)
            if check == "pause":
                too_long = self._pause_too_long(state, waiter.max_wait, now)
                if too_long is not None:
                    state.waiters.remove(waiter)
                    self._fail_waiter(state, waiter, too_long)
                    continue
                held_by_time = True
                self._arm(state, waiter, until)
                continue
            if check == "slot":
                break
            if check == "never":
                state.waiters.remove(waiter)
                oversize = self._oversize(state, waiter.cost, now)
                assert oversize is not None
                self._fail_waiter(state, waiter, oversize)
                continue
            if check == "window":
                held_by_time = True
                if state.throttled_since is None:
                    self._start_throttling(state, now, "a per-minute limit is reached")
                if self._arm(state, waiter, until):
                    log.debug(
                        "textservice: %s: per-minute limit reached, next call in %.3f s",
                        state.key,
                        (until or now) - now,
                    )
                break
            state.waiters.remove(waiter)
            ticket = self._grant(state, waiter.cost, waited=now - waiter.since, now=now)
            try:
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future, ticket)
            except RuntimeError:  # its loop is closed: nobody is waiting any more
                self._ungrant(ticket)
        if not held_by_time and not state.waiters:
            self._end_throttling(state, now, "no call is waiting")

    def _arm(self, state: _KeyState, waiter: _Waiter, when: float | None) -> bool:
        """Wake ``waiter`` at ``when`` unless a timer due no later is pending; whether one
        was armed."""
        if when is None or (waiter.armed is not None and waiter.armed <= when):
            return False
        waiter.armed = when

        def fire() -> None:
            with self._lock:
                if waiter.armed == when:
                    waiter.armed = None
                if waiter in state.waiters:
                    self._dispatch(state, self._clock.now())

        try:
            self._clock.call_at(when, fire, waiter.loop)
        except RuntimeError:  # its loop is closed
            state.waiters.remove(waiter)
            return False
        return True

    def _fail_waiter(self, state: _KeyState, waiter: _Waiter, refusal: Refusal) -> None:
        state.refused += 1
        with contextlib.suppress(RuntimeError):  # its loop is closed: nobody is waiting
            waiter.loop.call_soon_threadsafe(_reject, waiter.future, QuotaRefused(refusal))

    # -- outcomes -----------------------------------------------------------------------

    def _release(self, ticket: Ticket) -> bool:
        """Close ``ticket`` (lock held); ``False`` if it was already closed."""
        if ticket._done:
            return False
        ticket._done = True
        ticket._state.in_flight -= 1
        return True

    def _answered(self, ticket: Ticket, now: float) -> None:
        """The server answered ``ticket``'s call by ``now``: its usage entry counts until at
        least a quota minute after (lock held). An entry counts from the call's admission,
        and the margin covers the time a call takes to reach the server; a first call that
        must open the connection (or a loaded machine) can take longer, and a call the
        client forgot before the server did met a full sliding window (a burst of
        rejections a quota minute later)."""
        s = self._settings
        ticket._state.window.count_from(ticket._entry, now - s.minute * s.margin)

    def _ungrant(self, ticket: Ticket) -> bool:
        """Undo the admission of a call that was never sent (lock held)."""
        if not self._release(ticket):
            return False
        state = ticket._state
        state.sent -= 1
        state.waited -= ticket.waited
        state.window.refund(ticket._entry)
        return True

    def _abandon(self, ticket: Ticket) -> None:
        """An admitted call nobody took (its waiter was cancelled): give its slot back."""
        with self._lock:
            if self._ungrant(ticket):
                self._dispatch(ticket._state, self._clock.now())

    def _finish(self, ticket: Ticket, outcome: Literal["succeeded", "failed"]) -> None:
        with self._lock:
            if not self._release(ticket):
                raise RuntimeError(f"this ticket's outcome was already reported ({outcome})")
            state = ticket._state
            now = self._clock.now()
            if outcome == "succeeded":
                self._answered(ticket, now)
                state.succeeded += 1
                state.backoff_step = 0
                before = state.limit.slots
                state.limit.on_success()
                if state.limit.slots != before:
                    log.debug(
                        "textservice: %s: concurrency limit %d -> %d",
                        state.key,
                        before,
                        state.limit.slots,
                    )
            else:
                state.failed += 1
            self._dispatch(state, now)

    def _rejected(self, ticket: Ticket, rejection: Rejection, max_wait: float | None) -> Decision:
        if not isinstance(rejection, Rejection):
            raise TypeError(f"rejected() takes a Rejection, not {type(rejection).__name__}")
        settings = self._settings
        with self._lock:
            if not self._release(ticket):
                raise RuntimeError("this ticket's outcome was already reported (rejected)")
            now = self._clock.now()
            state = ticket._state
            state.rejected += 1
            # Refused, but sent: still counted against the limits (else a server refusing
            # everything would be asked as fast as calls come back).
            state.window.reject(ticket._entry)
            self._answered(ticket, now)
            if settings.learn_limits:
                self._learn(state, rejection, now)
            first = state.limit.on_rejection(ticket._epoch)
            delay = self._pause(state, rejection.retry_delay, first)
            refusal = self._refusal(ticket, rejection)
            if refusal is not None:
                state.refusal = refusal
                # remembered for the server's delay, else a quota minute: then asked again
                state.refused_until = now + (
                    refusal.delay if refusal.delay is not None else settings.minute
                )
                log.info("textservice: %s; failing its calls without waiting", refusal.message)
                self._dispatch(state, now)
                return refusal
            until = now + delay
            if until > state.pause_until:
                state.pause_until = until
                state.pause_spread = settings.jitter * delay
                state.pause_reason = rejection
            if max_wait is not None and delay > max_wait:
                too_long = Refusal(
                    state.key,
                    "too_long",
                    f"{state.key}: the server asked to wait {delay:g} s for "
                    f"{rejection.describe()}, longer than the {max_wait:g} s this call may wait",
                    delay,
                    rejection.violations[0] if rejection.violations else None,
                    rejection,
                )
                log.info("textservice: %s; failing it without waiting", too_long.message)
                self._dispatch(state, now)
                return too_long
            if state.throttled_since is None:
                self._start_throttling(
                    state,
                    now,
                    f"RESOURCE_EXHAUSTED for {rejection.describe()}; holding its calls for "
                    f"{delay:.3g} s",
                )
            if first:
                log.debug(
                    "textservice: %s: concurrency limit -> %d after RESOURCE_EXHAUSTED",
                    state.key,
                    state.limit.slots,
                )
            self._dispatch(state, now)
            return Readmit(max(0.0, state.pause_until - now))

    def _pause(self, state: _KeyState, asked: float | None, first: bool) -> float:
        """How long a rejection pauses its key: the server's ``RetryInfo`` delay, or this
        client's backoff (``backoff``, doubled per rejection in a row, at most ``minute``)
        when it gives none or a shorter one than ``backoff``. The one place a wait for quota
        is computed.

        The floor holds whatever the server says: ``RetryInfo`` of 0 s (or negative, or
        1 ns) on every answer made a storm of thousands of calls a second; now they come
        at most once per ``backoff`` (released at a random point of the next ``jitter``
        share of the pause), fewer and fewer while the rejections go on.
        """
        settings = self._settings
        if asked is not None and asked >= settings.backoff:
            return asked
        if first:  # once per burst of calls sent together, as the concurrency limit
            state.backoff_step += 1
        step = max(1, state.backoff_step)
        return min(settings.minute, settings.backoff * 2.0 ** (step - 1))

    def _refusal(self, ticket: Ticket, rejection: Rejection) -> Refusal | None:
        """The refusal a rejection means for every call of the key, if waiting cannot help."""
        key = ticket.key
        daily = rejection.daily
        if daily is not None:
            return Refusal(
                key,
                "daily",
                f"{key}: the per-day {daily.describe()} is exhausted; waiting will not help",
                rejection.retry_delay,
                daily,
                rejection,
            )
        if rejection.no_quota:
            culprit = next((v for v in rejection.violations if v.quota_value == 0), None)
            name = culprit.describe() if culprit is not None else "the quota"
            return Refusal(
                key,
                "no_quota",
                f"{key}: {name} allows no calls; waiting will not help",
                rejection.retry_delay,
                culprit,
                rejection,
            )
        for violation in rejection.violations:
            unit = violation.unit
            limit = violation.quota_value
            if violation.period == "minute" and unit and limit and ticket.cost.amount(unit) > limit:
                return Refusal(
                    key,
                    "too_large",
                    f"{key}: one call of {ticket.cost.amount(unit)} {unit} exceeds "
                    f"{violation.describe()} per minute; send smaller batches",
                    rejection.retry_delay,
                    violation,
                    rejection,
                )
        return None

    def _pause_too_long(
        self, state: _KeyState, max_wait: float | None, now: float
    ) -> Refusal | None:
        """The refusal of a call that may wait ``max_wait`` while the key's pause lasts
        longer, else ``None``."""
        left = state.pause_until - now
        if max_wait is None or left <= max_wait:
            return None
        reason = state.pause_reason
        asked = f" for {reason.describe()}" if reason is not None else ""
        return Refusal(
            state.key,
            "too_long",
            f"{state.key}: its calls are held for another {left:.3g} s (a server-asked "
            f"delay{asked}), longer than the {max_wait:g} s this call may wait",
            left,
            reason.violations[0] if reason is not None and reason.violations else None,
            reason,
        )

    def _expire_refusal(self, state: _KeyState, now: float) -> None:
        if state.refusal is not None and now >= state.refused_until:
            state.refusal = None

    # -- observation -------------------------------------------------------------------------

    def _start_throttling(self, state: _KeyState, now: float, why: str) -> None:
        state.throttled_since = now
        log.info(
            "textservice: throttling %s: %s (concurrency limit %d)",
            state.key,
            why,
            state.limit.slots,
        )

    def _end_throttling(self, state: _KeyState, now: float, why: str) -> None:
        if state.throttled_since is None or now < state.pause_until:
            return
        log.info(
            "textservice: throttling of %s ended after %.3g s: %s",
            state.key,
            now - state.throttled_since,
            why,
        )
        state.throttled_before += now - state.throttled_since
        state.throttled_since = None

    def snapshot(self) -> QuotaStats:
        """Counters and state of every key seen so far."""
        with self._lock:
            now = self._clock.now()
            keys: dict[QuotaKey, QuotaKeyStats] = {}
            for key, state in self._keys.items():
                paused_for = max(0.0, state.pause_until - now)
                keys[key] = QuotaKeyStats(
                    key=key,
                    sent=state.sent,
                    succeeded=state.succeeded,
                    rejected=state.rejected,
                    failed=state.failed,
                    refused=state.refused,
                    waited=state.waited,
                    waiting=len(state.waiters),
                    in_flight=state.in_flight,
                    limit=state.limit.value,
                    paused_for=paused_for,
                    throttled=paused_for > 0 or state.throttled_since is not None,
                    throttled_for=state.throttled_before
                    + (now - state.throttled_since if state.throttled_since is not None else 0.0),
                    limits=dict(self._limits(state, now)),
                )
            return QuotaStats(keys)


class Admission:
    """``async with governor.admit(key, cost) as ticket:`` (see ``RateGovernor.admit``)."""

    __slots__ = ("_cost", "_governor", "_key", "_max_wait", "_ticket")

    def __init__(
        self, governor: RateGovernor, key: QuotaKey, cost: Cost, max_wait: float | None
    ) -> None:
        self._governor = governor
        self._key = key
        self._cost = cost
        self._max_wait = max_wait
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        self._ticket = await self._governor.acquire(self._key, self._cost, self._max_wait)
        return self._ticket

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ticket = self._ticket
        if ticket is not None and not ticket.done:
            ticket.failed()
