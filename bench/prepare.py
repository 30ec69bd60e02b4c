"""Set-up of a bench run: the peer's venv, protoc's reference modules and the bench server.

Standard library only (the driver runs under any ``python3``); the server itself runs in the
project's venv.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from paths import BENCH, PEER_PY, PEER_REQUIREMENTS, PEER_VENV, PROJECT_PY, REPO, WORK
from plan import API_KEY, DIM, MODEL

_STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress, prefixed with the time since the driver started."""
    minutes, seconds = divmod(int(time.monotonic() - _STARTED), 60)
    print(f"{minutes:02d}:{seconds:02d} {message}", flush=True)


def ensure_peer_venv() -> None:
    """Create ``bench/.venv-peer`` from requirements-peer.txt (again when that file changes)."""
    stamp = PEER_VENV / ".installed"
    wanted = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted and PEER_PY.exists():
        return
    log(f"setup: creating {PEER_VENV.relative_to(REPO)} (google-generativeai 0.7.2)")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_PY), "-m", "pip", "install", "-q", "-r", str(PEER_REQUIREMENTS)], check=True
    )
    stamp.write_text(wanted + "\n")


def build_reference() -> Path:
    """protoc's standard Python/grpcio modules of protos/ (``tsref.*``), for server and floor."""
    done = subprocess.run(
        [str(PROJECT_PY), str(BENCH / "refbuild.py"), str(WORK / "ref")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


class BenchServer:
    """``bench/server.py`` in its own process, driven over stdin/stdout JSON lines."""

    def __init__(
        self,
        ref: Path,
        prewarm: int,
        vectors: str,
        *,
        model: str = MODEL,
        dim: int = DIM,
        prefixes: tuple[str, ...] = (),
    ) -> None:
        self.model = model
        self.process = subprocess.Popen(
            [
                str(PROJECT_PY),
                str(BENCH / "server.py"),
                f"--ref={ref}",
                f"--api-key={API_KEY}",
                f"--model={model}",
                f"--dim={dim}",
                f"--prewarm={prewarm}",
                f"--vectors={vectors}",
                *(f"--prewarm-prefix={p}" for p in prefixes),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._read()
        self.port: int = hello["port"]
        self.vectors: str = hello["vectors"]
        self.target = f"127.0.0.1:{self.port}"
        self._digests: dict[tuple[int, str], str] = {}

    def _read(self) -> dict[str, Any]:
        """The server's next JSON line."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench server exited ({self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def command(self, **command: Any) -> dict[str, Any]:
        """Send one command (``cmd=...`` and its arguments); its reply, which must be ok."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"bench server: {reply}")
        return reply

    def digest(self, n: int, prefix: str = "") -> str:
        """Expected float32 digest of the first ``n`` workload texts' vectors (each text
        after ``prefix``)."""
        key = (n, prefix)
        if key not in self._digests:
            reply = self.command(cmd="digest", model=self.model, n=n, prefix=prefix)
            self._digests[key] = reply["digest"]
        return self._digests[key]

    def stats(self) -> dict[str, Any]:
        """Counts since the last call (RPCs, texts, most in flight), then reset; and ``cpu_s``,
        the server's user + system CPU time so far (``getrusage``: all threads, microseconds)."""
        return self.command(cmd="stats")

    def stop(self) -> None:
        """Ask the server to quit (killed after 10 s)."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
