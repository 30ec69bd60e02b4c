"""The two limits of one key: adaptive concurrency (AIMD) and usage per minute.

Both are plain objects driven with explicit times; the governor holds its lock around them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from textservice._governor.cost import UNITS, Cost, Unit


class AdaptiveLimit:
    """How many calls may be in flight: additive increase, multiplicative decrease.

    Starts at ``maximum``. A rejection multiplies it by ``decrease`` (not below 1), at most
    once per *epoch*: calls sent before a decrease were sent at the old limit, and their
    rejections say nothing new (TCP's "once per window" rule), so a burst of rejections of
    calls in flight together counts once. A success adds ``increase / limit``, so the limit
    grows by about ``increase`` per limit's worth of successes, never above ``maximum``.
    """

    def __init__(self, maximum: int, decrease: float, increase: float) -> None:
        self.maximum = maximum
        self.value = float(maximum)
        self.epoch = 0
        """Incremented by every decrease; a call remembers the epoch it was sent in."""
        self._decrease = decrease
        self._increase = increase

    @property
    def slots(self) -> int:
        """Calls allowed in flight now (the limit rounded down, at least 1)."""
        return max(1, int(self.value))

    def on_success(self) -> None:
        """A call succeeded: grow additively."""
        self.value = min(float(self.maximum), self.value + self._increase / self.value)

    def on_rejection(self, epoch: int) -> bool:
        """A call sent in ``epoch`` was rejected: shrink if that is the current epoch.

        Returns whether the limit shrank.
        """
        if epoch != self.epoch:
            return False
        self.value = max(1.0, self.value * self._decrease)
        self.epoch += 1
        return True


@dataclass(eq=False)
class Entry:
    """One admitted call in the usage window: when, and what it cost."""

    time: float
    amounts: dict[Unit, int] = field(default_factory=dict)
    live: bool = True
    """Still within the window (counted in its sums)."""
    rejected: bool = False
    """The server refused the call (RESOURCE_EXHAUSTED): sent all the same, so it counts
    against the limits, but it is not what got through (``UsageWindow.accepted``)."""


class UsageWindow:
    """What a key sent in the last ``span`` seconds, per unit: a sliding-window log.

    A call is admitted when, with its cost added, the sum over the last ``span`` seconds stays
    within each limit. Unlike a token bucket, this never lets more than a limit through in
    any window of ``span`` seconds, so neither a fixed-minute nor a sliding-minute server
    quota is exceeded, and one call may cost up to the whole limit (a batch of texts
    against a texts-per-minute limit). Memory: one entry per call sent within ``span``.
    """

    def __init__(self, span: float) -> None:
        self.span = span
        self._entries: deque[Entry] = deque()
        self._used: dict[Unit, int] = dict.fromkeys(UNITS, 0)
        self._rejected: dict[Unit, int] = dict.fromkeys(UNITS, 0)

    def used(self, unit: Unit, now: float) -> int:
        """The amount of ``unit`` sent within the last ``span`` seconds."""
        self._prune(now)
        return self._used[unit]

    def accepted(self, unit: Unit, now: float) -> int:
        """The amount of ``unit`` sent within the last ``span`` seconds that the server did
        not refuse."""
        self._prune(now)
        return self._used[unit] - self._rejected[unit]

    def _prune(self, now: float) -> None:
        entries = self._entries
        while entries and entries[0].time + self.span <= now:
            self._forget(entries.popleft())

    def _forget(self, entry: Entry) -> None:
        if entry.live:
            entry.live = False
            for unit, amount in entry.amounts.items():
                self._used[unit] -= amount
                if entry.rejected:
                    self._rejected[unit] -= amount

    def ready_at(self, now: float, cost: Cost, limits: Mapping[Unit, float]) -> float | None:
        """When ``cost`` fits within every limit (``now`` if it does), or ``None`` if it
        never can (it costs more than a limit on its own)."""
        self._prune(now)
        ready = now
        for unit, limit in limits.items():
            amount = cost.amount(unit)
            if amount > limit:
                return None
            excess = self._used[unit] + amount - limit
            if excess <= 0:
                continue
            freed = 0
            latest = now - self.span  # the entries are in admission order, their times
            for entry in self._entries:  # mostly so (``count_from`` moves one later)
                freed += entry.amounts.get(unit, 0)
                latest = max(latest, entry.time)
                if freed >= excess:
                    ready = max(ready, latest + self.span)
                    break
        return ready

    def add(self, now: float, cost: Cost) -> Entry:
        """Record a call admitted at ``now``; returns its entry (for ``refund``)."""
        self._prune(now)
        entry = Entry(now, {unit: cost.amount(unit) for unit in UNITS if cost.amount(unit)})
        self._entries.append(entry)
        for unit, amount in entry.amounts.items():
            self._used[unit] += amount
        return entry

    def count_from(self, entry: Entry, when: float) -> None:
        """Count ``entry`` from ``when`` on, if that is later than its time (never earlier).

        For a call answered at ``when`` (plus the window's margin): the server saw it by then,
        however long it took to get there after it was admitted (a new connection's setup,
        a busy machine), so the window keeps it as long as the server's does. An entry whose
        time moves is not moved in the log: the log is pruned from its oldest entry, so
        entries behind one that moved are counted a little longer, never too short.
        """
        if entry.live and when > entry.time:
            entry.time = when

    def refund(self, entry: Entry) -> None:
        """Stop counting ``entry`` (a call that was never sent)."""
        self._forget(entry)
        entry.amounts = {}

    def reject(self, entry: Entry) -> None:
        """The server refused ``entry``'s call: it still counts against the limits (a limit
        is on what is sent, and a refund would let a client whose calls are all refused
        send them as fast as it likes), but no longer as accepted."""
        if entry.live and not entry.rejected:
            for unit, amount in entry.amounts.items():
                self._rejected[unit] += amount
        entry.rejected = True
