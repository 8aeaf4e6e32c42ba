"""The one door to helmfile, helm and kubectl: argv in, exit code and output back.

Every cluster operation of the Kubernetes backend goes through :class:`Commands`, so tests
replace exactly this boundary with a fake that records the commands and answers them.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class CommandError(RuntimeError):
    """A command exited non-zero, or could not be started."""


@dataclass(frozen=True)
class CompletedCommand:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    # Why the command was interrupted before it finished (see Commands.run's give_up).
    interrupted: str = ""

    def check(self) -> CompletedCommand:
        if self.interrupted:
            raise CommandError(f"stopped waiting for `{' '.join(self.argv)}`: {self.interrupted}")
        if self.returncode != 0:
            detail = (self.stderr or self.stdout).strip().splitlines()
            last = detail[-1] if detail else "no output"
            raise CommandError(f"`{' '.join(self.argv)}` exited {self.returncode}: {last}")
        return self

    def json(self) -> Any:
        return json.loads(self.check().stdout)


class Running(Protocol):
    """A long-running command (``kubectl port-forward``)."""

    def read_line(self, timeout: float) -> str | None:
        """The next line of its output, or None at the timeout or once it has exited."""

    def stop(self) -> None: ...


# Asked every few seconds while a command runs: a reason to stop waiting for it, or None.
GiveUp = Callable[[], str | None]


class Commands(Protocol):
    def run(
        self, argv: Sequence[str], *, input: str | None = None, give_up: GiveUp | None = None
    ) -> CompletedCommand:
        """Run to completion and capture the output; never raises for a non-zero exit. With
        ``give_up``, a reason it returns interrupts the command (SIGTERM: helmfile passes it
        to helm, which records the release as failed) and is kept in ``interrupted``."""

    def start(self, argv: Sequence[str]) -> Running:
        """Start a command that keeps running until :meth:`Running.stop`."""


class SubprocessCommands:
    """The real thing: the binaries on PATH, with the caller's kubeconfig and context."""

    GIVE_UP_POLL_SECONDS = 3.0
    INTERRUPT_GRACE_SECONDS = 60.0  # helm marks the release failed, helmfile waits for it

    def run(
        self, argv: Sequence[str], *, input: str | None = None, give_up: GiveUp | None = None
    ) -> CompletedCommand:
        if give_up is None:
            return self._run_to_completion(argv, input)
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except FileNotFoundError:
            raise CommandError(f"{argv[0]} is not installed (or not on PATH)") from None
        output: list[str] = []
        # communicate() in a thread, so the pipes never fill while give_up is asked.
        reader = threading.Thread(target=lambda: output.extend(process.communicate(input)))
        reader.start()
        reason = ""
        while reader.is_alive():
            reader.join(self.GIVE_UP_POLL_SECONDS)
            if reader.is_alive() and (reason := give_up() or ""):
                process.terminate()
                reader.join(self.INTERRUPT_GRACE_SECONDS)
                if reader.is_alive():
                    process.kill()
                    reader.join()
                break
        stdout, stderr = output
        return CompletedCommand(tuple(argv), process.returncode, stdout, stderr, reason)

    @staticmethod
    def _run_to_completion(argv: Sequence[str], input: str | None) -> CompletedCommand:
        try:
            result = subprocess.run(
                list(argv), input=input, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise CommandError(f"{argv[0]} is not installed (or not on PATH)") from None
        return CompletedCommand(tuple(argv), result.returncode, result.stdout, result.stderr)

    def start(self, argv: Sequence[str]) -> Running:
        try:
            process = subprocess.Popen(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except FileNotFoundError:
            raise CommandError(f"{argv[0]} is not installed (or not on PATH)") from None
        return _RunningProcess(process)


class _RunningProcess:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        # A reader thread, so read_line can time out and the pipe never fills up.
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_line(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
