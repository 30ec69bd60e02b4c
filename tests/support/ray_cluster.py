"""One local Ray cluster for a whole test run, shared by every xdist worker.

Each worker of ``make test`` that ran a Ray test used to start a 2-CPU cluster of its own: up to
four clusters (a dozen Ray daemons, each worker's pool) fought over two cores. Here the first
test that needs a cluster starts one, in a keeper process of its own (``ray.init`` there starts
the node's processes, so its ``ray.shutdown`` stops them); every worker's tests join it as
drivers (``ray.init(address=...)``), one test at a time (``one_job_at_a_time``: two jobs' actor
pools on 2 CPUs can leave neither job the CPU a read task needs, and each test then has the
cluster to itself, as with a cluster of its own). The pytest process that owns the run (the
xdist controller, or the only process) stops the keeper when the run ends; the keeper also stops
when that process is gone. Loaded by ``tests/conftest.py``.

Linux and macOS only (``fcntl``), as are the Ray tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

SHARED_ENV = "TEXTSERVICE_TEST_RAY_CLUSTER"
"""``<owner pid>:<folder>``: set by the run's first pytest process, inherited by its workers."""
CPUS = 2
"""The cluster's CPUs: what the README's Ray example is documented to finish on."""
RAY_AUTH_ENV = "RAY_AUTH_MODE"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0


_OWNS = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """A run's own process (not an xdist worker) names the folder of its cluster; a pytest
    that a test starts in another process is a run of its own (one started in this process,
    by ``pytester``, uses this run's)."""
    inherited = os.environ.get(SHARED_ENV, "").partition(":")[0]
    owns = not hasattr(config, "workerinput") and inherited != str(os.getpid())
    config.stash[_OWNS] = owns
    if owns:
        folder = Path(tempfile.gettempdir()) / f"textservice-ray-{uuid.uuid4().hex[:12]}"
        os.environ[SHARED_ENV] = f"{os.getpid()}:{folder}"
        # Ray 2.60 starts a local cluster with token authentication and sets RAY_AUTH_MODE=token
        # in the environment of the process whose ray.init() started it, so that it and its
        # children may join; Ray reads the variable once, when it is imported. Set here, before
        # the workers start (they inherit it) and import ray, it lets them join the keeper's
        # cluster, and the keeper starts it in the same mode. The token is Ray's own file
        # (~/.ray/auth_token, made by the first ray.init that needs it).
        os.environ.setdefault(RAY_AUTH_ENV, "token")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's own process stops the cluster, if a test started one."""
    if config.stash.get(_OWNS, False):
        _owner, folder = _shared()
        if folder.is_dir():
            _stop(folder)


def _shared() -> tuple[int, Path]:
    owner, _, folder = os.environ[SHARED_ENV].partition(":")
    return int(owner), Path(folder)


def _folder() -> Path:
    """The run's folder for the cluster (its address, its locks, the keeper's files)."""
    _owner, folder = _shared()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (across processes)."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def address(environment: Mapping[str, str]) -> str:
    """The shared cluster's GCS address, for ``ray.init(address=...)``; the cluster is
    started here (its node processes with ``environment`` added to this process's) if no
    test of the run started it yet."""
    folder = _folder()
    written = folder / "address"
    with _locked(folder / "start.lock"):
        if not written.exists():
            _start(folder, environment)
        return written.read_text(encoding="utf-8")


def _start(folder: Path, environment: Mapping[str, str]) -> None:
    owner, _ = _shared()
    log = folder / "keeper.log"
    with open(log, "wb") as out:
        keeper = subprocess.Popen(
            [sys.executable, __file__, str(folder), str(owner)],
            env={**os.environ, **environment},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the run reaches pytest, which stops it
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not (folder / "address").exists():
        if keeper.poll() is not None or time.monotonic() > deadline:
            keeper.kill()
            detail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise RuntimeError(f"the shared Ray cluster did not start:\n{detail}")
        time.sleep(0.1)


def _stop(folder: Path) -> None:
    if (folder / "address").exists() or (folder / "keeper.pid").exists():
        (folder / "stop").touch()
        deadline = time.monotonic() + STOP_TIMEOUT
        while not (folder / "stopped").exists() and time.monotonic() < deadline:
            if not _alive(_pid(folder)):
                break
            time.sleep(0.1)
    shutil.rmtree(folder, ignore_errors=True)


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / "keeper.pid").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def one_job_at_a_time() -> Iterator[None]:
    """While held, no other test of the run uses the shared cluster."""
    with _locked(_folder() / "job.lock"):
        yield


def no_metrics_poller() -> None:
    """Keep Ray Data from starting its cluster-metrics thread in this (driver) process.

    On a driver's first execution, Ray Data 2.60 starts a thread that queries Prometheus at
    localhost:9090 every 10 s until the process exits (``ray.data._internal.usage.poller``:
    usage telemetry, no API to stop it), and ``ray.shutdown()`` leaves it running. In a test
    worker it then opens sockets in the middle of the tests that follow, which
    ``support.marker_guard`` rightly fails when they are not marked ``network``. A poller with
    no metrics, put in place before the first execution, is returned instead and never
    started: executions find no snapshot, as when Prometheus is not reachable.
    """
    from ray.data._internal.usage import poller

    with poller._poller_lock:
        if poller._poller is None:
            poller._poller = poller.ClusterMetricsPoller({})


def _keep(folder: Path, owner: int) -> None:
    """The keeper: start the cluster, publish its address, stop it when told or orphaned."""
    import ray

    (folder / "keeper.pid").write_text(str(os.getpid()), encoding="utf-8")
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    ray.init(num_cpus=CPUS, include_dashboard=False, log_to_driver=False)
    try:
        partial = folder / "address.partial"
        partial.write_text(ray.get_runtime_context().gcs_address, encoding="utf-8")
        partial.rename(folder / "address")
        while not stopping and not (folder / "stop").exists() and _alive(owner):
            time.sleep(0.2)
    finally:
        ray.shutdown()
        (folder / "stopped").touch()


if __name__ == "__main__":
    _keep(Path(sys.argv[1]), int(sys.argv[2]))
