"""Run schemathesis against a live service and keep what it saw: statuses and contract breaks.

Every response, whether from generated cases or from the hand-made cases that reach the
statuses a generator cannot (a dependency down, a throttled client), goes through the same
schemathesis checks, so "every documented status code exercised" is measured, not assumed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode, Response
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema

# Every response: no 5xx, a documented status, the documented media type, body and headers.
CONTRACT_CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.response_headers_conformance,
]
# Generated invalid input must also be refused (4xx), never accepted.
NEGATIVE_CHECKS = [*CONTRACT_CHECKS, st_checks.negative_data_rejection]
# An outage (a dependency down, an instance starting or draining) is a documented 5xx:
# every check but "no 5xx" applies.
OUTAGE_CHECKS = [c for c in CONTRACT_CHECKS if c is not st_checks.not_a_server_error]


def load_schema(base_url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(base_url + "/openapi.json")


def operations(schema: BaseSchema) -> list[APIOperation]:
    return [result.ok() for result in schema.get_all_operations()]


def documented_statuses(operation: APIOperation) -> set[int]:
    return {int(code) for code in operation.definition.raw["responses"] if code.isdigit()}


def takes_input(operation: APIOperation) -> bool:
    locations = ("path_parameters", "query", "headers", "cookies", "body")
    return any(len(getattr(operation, location)) for location in locations)


@dataclass
class Findings:
    """What the runs saw, per operation label (``POST /v1/orders``)."""

    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    requests: int = 0
    failures: list[str] = field(default_factory=list)

    def call(
        self,
        case: Case,
        base_url: str,
        headers: dict[str, str] | None = None,
        checks: list[Any] | None = None,
    ) -> Response:
        """Send one case, check the response, record the status."""
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        self.requests += 1
        self.statuses[case.operation.label].add(response.status_code)
        try:
            case.validate_response(response, checks=checks or CONTRACT_CHECKS)
        except (FailureGroup, AssertionError) as exc:
            self.failures.append(f"{case.operation.label} -> {response.status_code}: {exc}"[:2000])
        return response

    def missing(self, schema: BaseSchema) -> dict[str, list[int]]:
        """Documented statuses that no response showed, per operation."""
        gaps = {}
        for operation in operations(schema):
            missing = documented_statuses(operation) - self.statuses[operation.label]
            if missing:
                gaps[operation.label] = sorted(missing)
        return gaps


def fuzz(
    operation: APIOperation,
    findings: Findings,
    *,
    base_url: str,
    headers: Callable[[], dict[str, str]],
    examples: int,
) -> None:
    """Generated cases, valid and invalid, ``examples`` of each kind (bounded by hypothesis)."""
    modes = [(GenerationMode.POSITIVE, CONTRACT_CHECKS)]
    if takes_input(operation):  # nothing to make invalid otherwise
        modes.append((GenerationMode.NEGATIVE, NEGATIVE_CHECKS))
    for mode, checks in modes:
        _runner(
            operation,
            mode,
            examples,
            lambda case, checks=checks: findings.call(
                case, base_url, headers={**headers(), **(case.headers or {})}, checks=checks
            ),
        )()


def _runner(
    operation: APIOperation, mode: GenerationMode, examples: int, send: Callable[[Case], Any]
) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        # The token goes with every case unless the case set its own Authorization header.
        send(case)

    return run
