"""The Kubernetes backend of platformctl: the same runbook on a cluster, through helmfile,
helm and kubectl. ``build_backend`` is the entry point; WIRING.md shows the CLI wiring."""

from __future__ import annotations

from pathlib import Path

from platformctl.kubernetes.backend import (
    CREDENTIAL_VARIABLES,
    KubernetesBackend,
    Timeouts,
    credentials_from_environment,
)
from platformctl.kubernetes.commands import Commands, CompletedCommand, SubprocessCommands
from platformctl.kubernetes.environment import Environment, load_environment
from platformctl.kubernetes.revision import RevisionRollback, rollback_to_revision
from platformctl.paths import repo_root
from platformctl.traffic import Credentials

__all__ = [
    "CREDENTIAL_VARIABLES",
    "Commands",
    "CompletedCommand",
    "Environment",
    "KubernetesBackend",
    "RevisionRollback",
    "Timeouts",
    "build_backend",
    "rollback_to_revision",
]


def build_backend(
    environment: str,
    prometheus_url: str | None = None,
    commands: Commands | None = None,
    *,
    forward: bool = True,
    repo: Path | None = None,
    credentials: Credentials | None = None,
    timeouts: Timeouts | None = None,
) -> KubernetesBackend:
    """The backend for a helmfile environment (``-e dev|staging|prod|kind|local``).

    ``forward``: open ``kubectl port-forward``s so the live and preview Services (and the
    chart's Prometheus, without ``prometheus_url``) are reachable from here; deploy and
    promote need that, status and rollback do not. ``credentials`` default to the
    ``PLATFORMCTL_SMOKE_*`` variables, ``prometheus_url`` to the environment's
    ``platformctl.prometheusUrl``; its ``platformctl.helmfileFlags`` are added to every
    ``helmfile apply``.
    Raises :class:`platformctl.backend.BackendError` for an environment helmfile.yaml does
    not define.
    """
    return KubernetesBackend(
        load_environment(environment, repo or repo_root()),
        commands or SubprocessCommands(),
        prometheus_url=prometheus_url,
        credentials=credentials if credentials is not None else credentials_from_environment(),
        forward=forward,
        timeouts=timeouts,
    )
