"""One writer per output: ``textservice embed`` holds a lock on ``OUTPUT.lock`` for its run.

Two runs writing one ``OUTPUT.part`` would interleave their results and rename each other's
files away; the second run is refused (exit 4) before it reads or changes anything.

The lock is an OS advisory lock (``flock``) on ``OUTPUT.lock``, next to the output. The OS
drops it when the process ends in any way (a crash, ``kill -9``), so a lock left by a dead run
never blocks the next one; the file itself may stay behind after a crash and is harmless. A
run removes the file before it lets the lock go, and takes a lock only on the file that is at
the path when it holds it (a run that locked a file another had just removed tries again), so
two runs can never both hold the lock of one output. The file holds the owner's process id, for
the message.

Platforms without ``fcntl`` (Windows) run without the lock, as do file systems that cannot
lock (``flock`` fails with ``ENOLCK``, ``EOPNOTSUPP``...): there a warning says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from textservice.cli.errors import OutputBusyError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["lock_path", "output_lock"]


def lock_path(output: Path) -> Path:
    """The lock file of ``output``: ``OUTPUT`` + ``.lock``."""
    return output.with_name(output.name + ".lock")


def _owner(path: Path) -> str:
    """``" (process N)"`` from the lock file, if it says."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {text})" if text.isdigit() else ""


_CANNOT_LOCK = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
"""``flock`` errors of a file system that has no locks (some network and FUSE ones)."""


def _acquire(path: Path, output: Path) -> int | None:
    """A descriptor of ``path``, locked (``None``: the file system cannot lock);
    ``OutputBusyError`` if another process holds it."""
    assert fcntl is not None
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputBusyError(
                f"{output} is being written by another textservice embed{_owner(path)}, which "
                f"holds {path.name}: wait for it to end (or stop it); nothing was changed"
            ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _CANNOT_LOCK:
                return None
            raise
        except BaseException:
            os.close(fd)
            raise
        try:
            held, now = os.fstat(fd), os.stat(path)
            current = (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)  # the owner removed it between our open and our lock: again


@contextlib.contextmanager
def output_lock(output: str | Path | None, warn: Callable[[str], object]) -> Iterator[None]:
    """Hold the lock of the file output ``output`` (``None`` or ``"-"``: standard output, no
    lock) while the block runs; ``OutputBusyError`` (exit 4) if another run holds it, ``warn``
    called if it cannot be locked."""
    if output is None or output == "-" or fcntl is None:
        yield
        return
    output = Path(output)
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, output)
    if fd is None:
        path.unlink(missing_ok=True)
        warn(
            f"the file system of {output} cannot lock {path.name}: a second run on it "
            "meanwhile would not be noticed"
        )
        yield
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        # Removed while still held: a run waiting on this file sees it gone and starts over.
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
