"""Policy: checkov passes the rendered manifests of every variant (both colors, every flag on
and off, production), with its skips in one file. The run itself: background.py."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from tests.support.helm_render import CHARTS_DIR

SKIPS_FILE = CHARTS_DIR / "checkov.yaml"
SKIP_LINE = re.compile(r"^\s*-\s*(CKV2?_K8S_\d+)\s*#\s*(\S.*)$")


def skips() -> dict[str, str]:
    """Check id -> reason, from the skip-check list of the checkov config file."""
    listed = yaml.safe_load(SKIPS_FILE.read_text())["skip-check"]
    reasons = {
        match[1]: match[2]
        for line in SKIPS_FILE.read_text().splitlines()
        if (match := SKIP_LINE.match(line))
    }
    assert sorted(listed) == sorted(reasons), "every skip needs a one-line reason"
    return reasons


def test_every_skip_has_a_reason() -> None:
    assert skips()


def test_checkov_reports_no_failed_check(checkov_results, record_property) -> None:
    reasons = skips()
    failed = checkov_results["failed_checks"]
    unexplained = sorted(
        f"{f['check_id']} {f['resource']}" for f in failed if f["check_id"] not in reasons
    )
    passed = checkov_results["summary"]["passed"]
    skipped = len(failed) - len(unexplained) + len(checkov_results["skipped_checks"])
    record_property("checkov", f"passed={passed} failed={len(unexplained)} skipped={skipped}")
    print(f"\ncheckov: passed {passed}, failed {len(unexplained)}, skipped {skipped}")
    assert unexplained == []
    assert passed > 0


def test_no_skip_is_stale(checkov_results) -> None:
    failing = Counter(f["check_id"] for f in checkov_results["failed_checks"])
    assert [check for check in skips() if not failing[check]] == []
