"""Upstream reference data (charts' values and schemas, CRDs) lives beside the repository, never
in it. Tests read it from $PLATFORM_REFERENCE_DIR, else from ../shared/reference/ next to the
checkout (as in CI here); without either, a test that needs it skips, naming what it needs.

The layout is the one ../shared/reference/README.md describes:
    charts/prometheus-29.27.0/{Chart.yaml,values.yaml,values.schema.json}
    charts/grafana-12.11.1/{Chart.yaml,values.yaml}
    crds/{servicemonitors,podmonitors,prometheusrules,velero-schedules}.yaml
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "PLATFORM_REFERENCE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO_ROOT.parent / "shared" / "reference"

PROMETHEUS_CHART = "charts/prometheus-29.27.0"
GRAFANA_CHART = "charts/grafana-12.11.1"
CRDS = "crds"
# API groups whose kinds are validated against a CRD from the reference data.
CRD_GROUPS = frozenset({"monitoring.coreos.com", "velero.io"})


def reference_root() -> Path | None:
    """The reference directory in use, or None when neither location has one."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    return SHARED_DIR if SHARED_DIR.is_dir() else None


def reference_path(relative: str) -> Path:
    """The path of one reference item; skips the calling test when it is not available."""
    root = reference_root()
    if root is None:
        pytest.skip(
            f"needs upstream reference data {relative}: set {ENV_VAR} or place it in {SHARED_DIR}"
        )
    path = root / relative
    if not path.exists():
        pytest.skip(f"needs upstream reference data {relative} in {root} (from {ENV_VAR})")
    return path
