"""The DR stance's checkable parts: the documented Velero Schedule is valid against Velero's
CRD, and the runbook in docs/disaster-recovery.md names what it restores, in order.
(The local down -> up from nothing is timed by test_local_runtime_faults.py's platform.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support.kube_schemas import _strict  # the charts suite's strict-CRD rule
from tests.support.upstream_reference import CRDS, reference_path

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE = ROOT / "deploy" / "velero" / "schedule.yaml"
DR_DOC = ROOT / "docs" / "disaster-recovery.md"


def schedule_schema() -> dict[str, Any]:
    crd = yaml.safe_load((reference_path(CRDS) / "velero-schedules.yaml").read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["storage"]]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object", "required": ["name", "namespace"]}
    schema["properties"]["apiVersion"]["enum"] = [f"{crd['spec']['group']}/{version['name']}"]
    schema["properties"]["kind"]["enum"] = [crd["spec"]["names"]["kind"]]
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return _strict(schema)


@pytest.fixture(scope="module")
def schedule() -> dict[str, Any]:
    return yaml.safe_load(SCHEDULE.read_text())


def test_the_velero_schedule_is_valid_against_the_crd(schedule):
    validator = jsonschema.Draft7Validator(schedule_schema())
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(schedule)]
    assert errors == []


def test_the_strict_schema_catches_a_typo():
    """The check above can fail: an unknown field is an error, not silently ignored."""
    broken = yaml.safe_load(SCHEDULE.read_text())
    broken["spec"]["template"]["tll"] = broken["spec"]["template"].pop("ttl")
    assert list(jsonschema.Draft7Validator(schedule_schema()).iter_errors(broken))


def test_the_schedule_is_daily_kept_30_days_and_scoped_to_stateful_objects(schedule):
    spec = schedule["spec"]
    minute, hour, *rest = spec["schedule"].split()
    assert rest == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    assert spec["template"]["ttl"] == "720h0m0s"
    assert spec["template"]["includedNamespaces"] == ["platform"]
    assert spec["template"]["labelSelector"]["matchLabels"] == {"platform.example/stateful": "true"}


def test_the_dr_runbook_restores_in_order():
    text = DR_DOC.read_text()
    section = text[text.index("## Restore, in this order") :]
    section = section[: section.index("\n## ", 3)]
    steps = ["**Cluster", "**Git checkout", "**Images", "**Secrets", "**`helmfile", "**Verify"]
    positions = [section.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    assert "deploy/velero/schedule.yaml" in text
