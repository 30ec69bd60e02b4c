"""A minimal progress display on stderr: done/total, percentage, rate and ETA.

Hand-written rather than click's ``progressbar`` or tqdm because it needs three things together:
the rate (click's bar shows none), the same information as plain periodic lines when it is
asked for on a stream that is not a terminal (click hides its bar there, with no override), and
no extra runtime dependency for ~80 lines (tqdm).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable
from typing import Literal, TextIO

Mode = Literal["bar", "lines", "off"]

__all__ = ["Mode", "Progress", "format_duration", "keep_drawing", "progress_mode"]


def progress_mode(progress: bool | None, stream: TextIO | None = None) -> Mode:
    """``--progress/--no-progress`` (``None``: neither) as a mode for ``stream`` (stderr)."""
    if progress is False:
        return "off"
    tty = (stream if stream is not None else sys.stderr).isatty()
    if progress is None:
        return "bar" if tty else "off"
    return "bar" if tty else "lines"


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for an ETA."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Shows how many of ``total`` items are done.

    ``mode="bar"`` redraws one line with ``\\r`` (for a terminal); ``"lines"`` prints a line at
    most every ``interval`` seconds and at the end unless already shown (for logs); ``"off"``
    prints nothing.
    ``initial`` items were done before this run (resumed): they count towards done/total but
    not towards the rate. ``note()``, when given, adds a word about the job's state to the
    status (``throttled`` while calls wait for quota).
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO,
        mode: Mode,
        unit: str = "texts",
        initial: int = 0,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        note: Callable[[], str] | None = None,
    ) -> None:
        self.total = total
        self.done = initial
        self.initial = initial
        self._stream = stream
        self._mode = mode
        self._unit = unit
        self._clock = clock
        self._note = note
        self._interval = interval if interval is not None else (0.1 if mode == "bar" else 2.0)
        self._start = clock()
        self._last_render = float("-inf")
        self._shown: int | None = None  # ``done`` when last drawn
        self._closed = False

    @property
    def elapsed(self) -> float:
        """Seconds since this display was created."""
        return self._clock() - self._start

    @property
    def rate(self) -> float:
        """Items per second done by this run (resumed items excluded); 0 before any."""
        elapsed = self.elapsed
        new = self.done - self.initial
        return new / elapsed if elapsed > 0 and new > 0 else 0.0

    def update(self, done: int) -> None:
        """Record that ``done`` items (in total, including resumed ones) are now done."""
        self.done = done
        now = self._clock()
        if self._mode != "off" and now - self._last_render >= self._interval:
            self._render(now)

    def refresh(self) -> None:
        """Redraw when due, though nothing was done since (a job waiting for quota)."""
        self.update(self.done)

    def close(self) -> None:
        """Draw the final state and end the line; idempotent."""
        if self._closed:
            return
        self._closed = True
        # A bar is redrawn with the final rate; a log does not get the same line twice.
        if self._mode == "bar" or (self._mode == "lines" and self.done != self._shown):
            self._render(self._clock())
            if self._mode == "bar":
                self._stream.write("\n")
                self._stream.flush()

    def status(self) -> str:
        """``done/total pct rate ETA``, the text shown after the bar."""
        pct = 100 * self.done // self.total if self.total else 100
        rate = self.rate
        remaining = self.total - self.done
        if remaining <= 0:
            eta = format_duration(0)
        elif rate > 0:
            eta = format_duration(remaining / rate)
        else:
            eta = "?"
        status = f"{self.done}/{self.total} {pct:3d}% {rate:,.0f} {self._unit}/s ETA {eta}"
        note = self._note() if self._note is not None else ""
        return f"{status} {note}" if note else status

    def _render(self, now: float) -> None:
        self._last_render = now
        self._shown = self.done
        status = self.status()
        if self._mode == "lines":
            self._stream.write(status + "\n")
        else:
            columns = shutil.get_terminal_size(fallback=(80, 24)).columns
            width = max(10, min(40, columns - len(status) - 4))
            filled = width * self.done // self.total if self.total else width
            bar = "#" * filled + "." * (width - filled)
            # \x1b[K clears what a longer previous line left on the right.
            self._stream.write(f"\r[{bar}] {status}\x1b[K")
        self._stream.flush()


async def keep_drawing(progress: Progress, interval: float = 1.0) -> None:
    """Refresh ``progress`` every ``interval`` seconds until cancelled, so a job held back
    (throttled) shows it even while no batch arrives."""
    while True:
        await asyncio.sleep(interval)
        progress.refresh()
