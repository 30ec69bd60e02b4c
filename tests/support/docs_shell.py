"""Runs the commands of a docs ``sh`` block one by one, as a user types them, in bash.

A command must exit 0. A fake server the block starts (``textservice fake-server``, ``python
-m textservice.testing``; with or without ``&``) runs in the background until the block ends,
then gets Ctrl-C (SIGINT) and must stop cleanly. The tests may not share a fixed port, so a
server given ``--port N`` or ``--rest-port N`` listens on a free port instead, and ``:N`` in
the block's later commands names that port: the one substitution made to what is written.
"""

from __future__ import annotations

import re
import select
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SERVER = re.compile(r"(textservice fake-server|python -m textservice\.testing)\b")
LISTENING = re.compile(r"listening on \S+:(\d+)(?: \(gRPC\) and http://\S+:(\d+) \(REST\))?")
PORT_OPTIONS = ("--port", "--rest-port")
TIMEOUT = 120.0
"""Seconds a command (or a server's start) may take."""


@dataclass
class Shell:
    """Where and with what environment the commands run; what went wrong."""

    cwd: Path
    env: dict[str, str]
    failures: list[str] = field(default_factory=list)
    ports: dict[str, str] = field(default_factory=dict)
    servers: list[tuple[str, subprocess.Popen[str]]] = field(default_factory=list)

    def run_block(self, commands: list[str]) -> list[str]:
        """Run every command, stop the servers; the failures (empty when all went well)."""
        try:
            for command in commands:
                if SERVER.match(command):
                    self._start_server(command)
                else:
                    self._run(command)
        finally:
            self._stop_servers()
        return self.failures

    def _run(self, command: str) -> None:
        for given, actual in self.ports.items():
            command = re.sub(rf"(?<=:){given}\b", actual, command)
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if done.returncode != 0:
            self.failures.append(f"`{command}` exited {done.returncode}: {done.stderr[-2000:]}")

    def _start_server(self, command: str) -> None:
        argv = shlex.split(command, comments=True)
        if argv[-1] == "&":
            argv.pop()
        given = []
        for i, word in enumerate(argv[:-1]):
            if word in PORT_OPTIONS:
                given.append(argv[i + 1])
                argv[i + 1] = "0"
        server = subprocess.Popen(
            argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.servers.append((command, server))
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], TIMEOUT)
        line = server.stdout.readline() if ready else ""
        listening = LISTENING.search(line)
        if listening is None:
            self.failures.append(f"`{command}` printed {line!r}, not where it listens")
            return
        actual = [port for port in listening.groups() if port is not None]
        self.ports.update((g, a) for g, a in zip(given, actual, strict=True) if g != "0")

    def _stop_servers(self) -> None:
        for command, server in self.servers:
            server.send_signal(signal.SIGINT)
            try:
                _, err = server.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                _, err = server.communicate()
            if server.returncode != 0:
                self.failures.append(f"`{command}` ended {server.returncode} on Ctrl-C: {err}")
