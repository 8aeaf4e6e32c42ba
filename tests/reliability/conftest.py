"""Fixtures of the reliability suite: the figures it measures, for docs/reliability.md."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.profile import PROFILE

# `make reliability` points this at .local/reliability/figures.json.
FIGURES_ENV = "RELIABILITY_FIGURES"


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Measured numbers by test; printed, and written to $RELIABILITY_FIGURES if set."""
    collected: dict[str, Any] = {"profile": PROFILE.name}
    yield collected
    print("\nreliability figures:", json.dumps(collected, indent=1))
    target = os.environ.get(FIGURES_ENV)
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(collected, indent=2) + "\n")
