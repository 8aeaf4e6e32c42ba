"""The node's daemons: started detached inside the node's network namespace with their logs
under .local/cluster/logs/, recorded by pid, and stopped by that pid only (after checking the
pid still runs the binary that was started)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from localcluster import paths


@dataclass
class Process:
    name: str
    pid: int
    binary: str
    # How it was started, so `restart` can start it again the same way.
    argv: list[str] = field(default_factory=list)
    in_node: bool = True
    netns: str = paths.NETNS  # the node's namespace, when in_node

    def alive(self) -> bool:
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        if Path(f"/proc/{self.pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return False
        return Path(self.binary).name.encode() in cmdline

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def start(
    name: str,
    argv: list[str],
    *,
    in_node: bool = True,
    netns: str = paths.NETNS,
    env: dict[str, str] | None = None,
) -> Process:
    """Start ``argv`` detached (its own session), in a node's network namespace; ``env`` adds
    to the environment it inherits."""
    paths.LOG_DIR.mkdir(parents=True, exist_ok=True)
    command = argv
    if in_node:
        # nsenter joins the network namespace only: mounts stay shared with the host, so what
        # the kubelet mounts containerd sees (`ip netns exec` would give each a mount namespace).
        command = ["nsenter", f"--net=/run/netns/{netns}", "--", *argv]
    with (paths.LOG_DIR / f"{name}.log").open("ab") as log:
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    return Process(name, popen.pid, argv[0], list(argv), in_node, netns)


def log_tail(name: str, lines: int = 15) -> str:
    path = paths.LOG_DIR / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def save(processes: list[Process], state_file: Path = paths.STATE_FILE, **extra: object) -> None:
    state_file.write_text(
        json.dumps({"processes": [asdict(p) for p in processes], **extra}, indent=2)
    )


def load(state_file: Path = paths.STATE_FILE) -> tuple[list[Process], dict]:
    if not state_file.exists():
        return [], {}
    state = json.loads(state_file.read_text())
    return [Process(**p) for p in state.pop("processes")], state
