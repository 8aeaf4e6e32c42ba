"""The interface every runtime implements: the local processes (``-e processes``) and
Kubernetes (every helmfile environment, the local cluster's ``-e local`` among them).

The runbook (:mod:`platformctl.runbook`) holds the blue/green logic: preconditions, smoke
checks, pre- and post-promotion analysis, automatic rollback. A backend only knows how to
run colors and route traffic. A Kubernetes backend maps the same calls onto helmfile
(``deploy`` writes the idle color's version and applies; ``switch`` flips ``activeColor``
and applies), ``kubectl rollout status`` (``wait_ready``) and Service selectors (``status``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from platformctl.catalog import other_color
from platformctl.traffic import Credentials


class BackendError(RuntimeError):
    """The runtime cannot do what was asked (not running, not ready, proxy refused...)."""


@dataclass(frozen=True)
class ColorView:
    version: str
    running: bool  # desired: the color should have instances
    ready: int  # instances answering /readyz 200
    instances: int
    pending: bool  # deployed and smoke-tested, not promoted yet: what `promote` would ship
    faults: Mapping[str, str] = field(default_factory=dict)
    restarts: int = 0
    scale_down_in: float | None = None  # seconds until the scale-down delay ends


@dataclass(frozen=True)
class ServiceView:
    name: str
    live: str
    previous: str | None  # the color `rollback` returns to, if any
    colors: Mapping[str, ColorView]
    live_url: str
    preview_url: str
    # During a canary step: the percent of live traffic on the idle color (None: no step).
    canary_weight: int | None = None

    @property
    def idle(self) -> str:
        return other_color(self.live)


@dataclass(frozen=True)
class Split:
    """A canary step as the runtime made it."""

    seconds: float  # until live traffic was split so
    percents: Mapping[str, int]  # service -> the percent of its live traffic the idle color takes
    # Services split per request by a gateway's route (the rest: by replicas, or locally).
    routed: frozenset[str] = frozenset()


class Backend(Protocol):
    name: str

    def ensure_up(self) -> None:
        """Raise :class:`BackendError` with one line if the runtime is not reachable."""

    def status(self) -> dict[str, ServiceView]:
        """Every service, with instance readiness probed now."""

    def deploy(
        self,
        services: Sequence[str],
        version: str,
        faults: Mapping[str, str],
        preview_replicas: int | None = None,
    ) -> None:
        """Put ``version`` (with ``faults``) into each service's idle color and start it, with
        ``preview_replicas`` instances (None: the runtime's own previewReplicas setting, which
        may be the full size) until :meth:`start` brings it to full size.

        Marks the idle color pending; returns without waiting (see :meth:`wait_ready`).
        """

    def abandon(self, services: Sequence[str]) -> None:
        """A deploy failed: stop the idle colors and clear their pending mark."""

    def abort(self, services: Sequence[str]) -> dict[str, str]:
        """Discard each service's pending idle release, durably; the live color is untouched.

        Returns what each idle color holds now: ``stopped`` (scaled to zero) or ``back at V``
        (its version before the deploy, rolled out again).
        """

    def wait_ready(self, targets: Mapping[str, str], timeout: float) -> None:
        """Wait until every instance of each ``service: color`` is ready, or raise."""

    def start(self, targets: Mapping[str, str]) -> list[str]:
        """Bring each color to its full size: from zero after a scale-down, or from its preview
        size. Returns the services that needed it (then :meth:`wait_ready` before switching)."""

    def switch(self, targets: Mapping[str, str], *, rollback: bool) -> float:
        """Route each service's live traffic to ``color`` in one step.

        On promotion the old live color becomes ``previous`` and the new one loses its
        pending mark; on rollback ``previous`` is cleared. Returns the seconds from the start
        of the switch until live traffic reached the new colors.
        """

    def scale_down_delay(self) -> float | None:
        """The runtime's scaleDownDelaySeconds; None keeps old colors at full size."""

    def set_weight(self, targets: Mapping[str, str], percent: int) -> Split:
        """A canary step: send about ``percent`` of each service's live traffic to ``color``
        (the idle one, which the runtime sizes for it), the rest to the active color; 0 sends it
        all back. Returns once live traffic is split so, with the percents the runtime could
        give (the proxy's 5 % slots, the replica ratio)."""

    def schedule_scale_down(self, targets: Mapping[str, str], delay: float) -> bool:
        """Scale each old color to zero ``delay`` seconds from now. True: the runtime does it
        by itself (the local supervisor); False: nothing would, so the caller waits and then
        calls :meth:`scale_down` (Kubernetes, where platformctl is the only controller)."""

    def scale_down(self, targets: Mapping[str, str]) -> list[str]:
        """Scale each color to zero now, durably, unless it is live again (a rollback came
        first); returns the services scaled down."""

    def prometheus_url(self) -> str: ...

    def selector(self, service: str, color: str) -> str:
        """PromQL label matchers that pick exactly this color's current instances."""

    def credentials(self) -> Credentials: ...
