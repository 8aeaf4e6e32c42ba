"""The container engine: docker where a daemon answers, podman otherwise.

podman and buildah read the project's own settings (runc, cgroupfs, ulimits) from
deploy/containers/containers.conf through CONTAINERS_CONF; the machine's /etc is never edited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
CONTAINERS_CONF = REPO_ROOT / "deploy" / "containers" / "containers.conf"


class EngineError(RuntimeError):
    """A container engine command failed; the message says which and why."""


@dataclass(frozen=True)
class Engine:
    name: str
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [self.name, *args]

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def run(
        self, *args: str, input: bytes | None = None, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*args),
            env=self.environ(),
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise EngineError(
                f"{self.name} {' '.join(args[:2])} failed: {detail[-1] if detail else 'no output'}"
            )
        return result

    def stream(
        self, args: Sequence[str], log: Path, on_line: Callable[[str], None], timeout: float
    ) -> None:
        """Run a long command, keeping its whole output in ``log`` and handing each line on."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as sink:
            process = subprocess.Popen(
                self.command(*args),
                env=self.environ(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                sink.write(line)
                on_line(line.rstrip("\n"))
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                raise EngineError(
                    f"{self.name} {args[0]} took over {timeout:.0f}s; see {log}"
                ) from None
        if code != 0:
            raise EngineError(f"{self.name} {args[0]} failed (exit {code}); see {log}")

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "inspect", ref, check=False).returncode == 0


def _docker_daemon_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def detect(preferred: str | None = None) -> Engine:
    """The engine to use: ``preferred`` if given, else docker with a daemon, else podman."""
    choice = preferred or os.environ.get("CONTAINER_ENGINE")
    if choice not in (None, "", "docker", "podman"):
        raise EngineError(f"unknown container engine {choice!r}: use docker or podman")
    if choice == "docker" or (not choice and _docker_daemon_answers()):
        if not _docker_daemon_answers():
            raise EngineError("docker was asked for, but no Docker daemon answers `docker info`")
        return Engine("docker")
    if shutil.which("podman"):
        return Engine("podman", {"CONTAINERS_CONF": str(CONTAINERS_CONF)})
    raise EngineError(
        "no container engine: no Docker daemon answers and podman is not installed "
        "(make system-deps installs podman as root)"
    )
