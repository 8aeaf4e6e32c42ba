"""``kubectl port-forward`` to Services, so smoke checks, analysis load and Prometheus queries
reach the cluster from wherever platformctl runs.

A port-forward to a Service picks one of its pods when it starts and stays on it. After a
switch the live Services' forwards are restarted on the same local ports, so the URLs the
runbook already holds now reach the new color.
"""

from __future__ import annotations

import contextlib
import time

from platformctl.backend import BackendError
from platformctl.kubernetes.commands import CommandError, Commands, Running
from platformctl.ports import free_port

READY_TIMEOUT = 20.0


class PortForwards:
    def __init__(self, commands: Commands, namespace: str, context: str | None = None) -> None:
        self.commands = commands
        self.namespace = namespace
        self.context = context
        self._ports: dict[str, tuple[int, int]] = {}  # service -> (local, remote), kept
        self._running: dict[str, Running] = {}

    def url(self, service: str, remote_port: int, *, strict: bool = False) -> str:
        """``http://127.0.0.1:<port>`` forwarded to the Service ``service``, opened once.

        Unless ``strict``, a Service whose pods are not running yet still gets its URL: the
        forward is retried by :meth:`restart` once a rollout has finished (a deploy into a
        broken idle color must not fail before it starts).
        """
        if service not in self._ports:
            self._ports[service] = (free_port(), remote_port)
            with contextlib.suppress(BackendError):
                self._start(service)
        if strict and service not in self._running:
            self._start(service)
        return f"http://127.0.0.1:{self._ports[service][0]}"

    def restart(self, services: list[str], *, strict: bool) -> None:
        """Re-resolve the pods behind these Services (those with a URL), same local ports.

        ``strict``: raise when a forward does not come up, else leave it down (whatever then
        uses the URL fails and says so).
        """
        for service in services:
            if service not in self._ports:
                continue
            running = self._running.pop(service, None)
            if running is not None:
                running.stop()
            try:
                self._start(service)
            except BackendError:
                if strict:
                    raise

    def close(self) -> None:
        for running in self._running.values():
            running.stop()
        self._running.clear()

    def _start(self, service: str) -> None:
        local, remote = self._ports[service]
        argv = [
            "kubectl",
            *(["--context", self.context] if self.context else []),
            "--namespace",
            self.namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            f"svc/{service}",
            f"{local}:{remote}",
        ]
        try:
            running = self.commands.start(argv)
        except CommandError as exc:
            raise BackendError(str(exc)) from None
        expected = f"Forwarding from 127.0.0.1:{local}"
        deadline = time.monotonic() + READY_TIMEOUT
        seen = []
        while time.monotonic() < deadline:
            line = running.read_line(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                break
            if line.startswith(expected):
                self._running[service] = running
                return
            seen.append(line)
        running.stop()
        raise BackendError(
            f"`{' '.join(argv)}` did not start forwarding: {' '.join(seen)[-300:] or 'no output'}"
        )
