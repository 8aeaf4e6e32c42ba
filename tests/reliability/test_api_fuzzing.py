"""schemathesis against every service's OpenAPI document, on live uvicorn processes.

Generated cases (valid and invalid) run with a token that every service accepts; hand-made
cases reach the statuses no generator can: a declined card, a throttled client, an oversized
body, and orders with payments refusing, failing or too slow. Every response goes through the
same contract checks. Examples per operation: see ``profile.py``.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.reliability.fuzzing import (
    OUTAGE_CHECKS,
    Findings,
    fuzz,
    load_schema,
    operations,
)
from tests.reliability.profile import PROFILE
from tests.support.ports import free_port
from tests.support.services import ServiceProcess, ServiceStack, start_service

SERVICES = ("auth", "orders", "payments", "notifications")
EVERY_SCOPE = "auth:me orders:write payments:charge notifications:send"
OVERSIZED = "x" * (64 * 1024 + 1)  # SERVICE_MAX_BODY_BYTES defaults to 64 KiB


@dataclass
class Outages:
    """Processes that put orders (and readiness probes) into their failure statuses."""

    payments_slow: ServiceProcess  # 2 s of added latency
    orders_payments_refused: ServiceProcess  # payments' address refuses connections: 503
    orders_payments_failing: ServiceProcess  # payments answers 500 to everything: 502
    orders_payments_slow: ServiceProcess  # payments_slow; orders' budget is ~2.5 s: 504
    notifications_without_auth: ServiceProcess  # JWKS never loads: /readyz stays 503
    auth_throttled: ServiceProcess  # one password grant per minute: 429

    def draining(self, service: str) -> ServiceProcess | None:
        """A process of ``service`` that the targeted cases may put into its shutdown delay."""
        return {
            "auth": self.auth_throttled,
            "orders": self.orders_payments_refused,
            "payments": self.payments_slow,
        }.get(service)


@pytest.fixture(scope="module")
def outages(stack: ServiceStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outages]:
    log_dir = tmp_path_factory.mktemp("fuzz-outages")
    env = stack.base_env
    started: list[ServiceProcess] = []

    def start(name: str, **overrides: str) -> ServiceProcess:
        process = start_service(name, env={**env, **overrides}, log_dir=log_dir)
        started.append(process)
        return process

    try:
        # Drained at the end of the cases: /readyz answers 503 during the shutdown delay.
        draining = {"SERVICE_SHUTDOWN_DELAY_SECONDS": "5"}
        failing = start("payments", SERVICE_FAULT_ERROR_RATE="1")
        slow = start("payments", SERVICE_FAULT_LATENCY_MS="2000", **draining)
        outages = Outages(
            payments_slow=slow,
            orders_payments_refused=start(
                "orders", ORDERS_PAYMENTS_URL=f"http://127.0.0.1:{free_port()}", **draining
            ),
            orders_payments_failing=start("orders", ORDERS_PAYMENTS_URL=failing.url),
            orders_payments_slow=start("orders", ORDERS_PAYMENTS_URL=slow.url),
            notifications_without_auth=start(
                "notifications", SERVICE_AUTH_URL=f"http://127.0.0.1:{free_port()}"
            ),
            auth_throttled=start("auth", AUTH_PASSWORD_GRANTS_PER_MINUTE="1", **draining),
        )
        for process in started:
            if process is not outages.notifications_without_auth:
                process.wait_ready()
        yield outages
    finally:
        for process in started:
            process.terminate()


@dataclass
class FuzzRun:
    schemas: dict[str, Any]
    findings: dict[str, Findings]
    outage_answers: dict[int, Any]  # orders' answers with payments refused, failing, slow


@pytest.fixture(scope="module")
def fuzz_run(
    stack: ServiceStack, outages: Outages, minted: Any, figures: dict[str, Any]
) -> FuzzRun:
    token = minted(list(SERVICES), EVERY_SCOPE)
    schemas = {name: load_schema(stack.url(name)) for name in SERVICES}
    findings = {name: Findings() for name in SERVICES}
    for name in SERVICES:
        for operation in operations(schemas[name]):
            fuzz(
                operation,
                findings[name],
                base_url=stack.url(name),
                headers=lambda: {"Authorization": f"Bearer {token}"},
                examples=PROFILE.examples_per_operation,
            )
    outage_answers: dict[int, Any] = {}
    for name in SERVICES:
        run_targeted_cases(
            name, schemas[name], findings[name], stack, outages, minted, outage_answers
        )
    figures["schemathesis"] = {
        name: {
            "operations": len(operations(schemas[name])),
            "requests": f.requests,
            "failures": len(f.failures),
            "statuses": sum(len(seen) for seen in f.statuses.values()),
        }
        for name, f in findings.items()
    }
    print(f"schemathesis ({PROFILE.name}):", json.dumps(figures["schemathesis"]))
    return FuzzRun(schemas, findings, outage_answers)


def run_targeted_cases(
    name: str,
    schema: Any,
    findings: Findings,
    stack: ServiceStack,
    outages: Outages,
    minted: Any,
    outage_answers: dict[int, Any],
) -> None:
    """The statuses generated data cannot reach, each through its real cause."""
    url = stack.url(name)

    def bearer(audience: str | list[str], scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {minted(audience, scope)}"}

    def key() -> dict[str, str]:
        return {"Idempotency-Key": f"fuzz-{uuid.uuid4().hex}"}

    def send(path: str, method: str, base: str = url, checks: Any = None, **case: Any) -> Any:
        headers = case.pop("headers", {})
        operation = schema[path][method]
        return findings.call(operation.Case(**case), base, headers=headers, checks=checks)

    if name == "auth":
        password = {
            "grant_type": "password",
            "username": stack.credentials.username,
            "password": stack.credentials.password,
        }
        form = "application/x-www-form-urlencoded"
        send("/v1/token", "POST", body=password, media_type=form)
        send("/v1/token", "POST", body={"grant_type": "refresh_token"}, media_type=form)
        bad_client = {"grant_type": "client_credentials", "client_id": "orders"}
        send("/v1/token", "POST", body={**bad_client, "client_secret": "nope"}, media_type=form)
        send("/v1/token", "POST", body={**password, "scope": OVERSIZED}, media_type=form)
        for _ in range(2):  # the second grant within the minute is throttled
            send("/v1/token", "POST", outages.auth_throttled.url, body=password, media_type=form)
        send("/v1/me", "GET", headers=bearer("auth", "auth:me"))
        send("/v1/me", "GET")
        send("/v1/me", "GET", headers=bearer("auth", "orders:write"))
    if name == "payments":
        charge = {"amount": 1250, "currency": "EUR", "card_token": "tok_visa"}
        token = bearer("payments", "payments:charge")
        send("/v1/charges", "POST", body=charge, headers={**token, **key()})
        send("/v1/charges", "POST", body=charge, headers=token)
        send("/v1/charges", "POST", body=charge, headers=key())
        declined = {**charge, "card_token": "tok_declined"}
        send("/v1/charges", "POST", body=declined, headers={**token, **key()})
        wrong_scope = bearer("payments", "payments:refund")
        send("/v1/charges", "POST", body=charge, headers={**wrong_scope, **key()})
        send("/v1/charges", "POST", body={**charge, "currency": "XXX"}, headers={**token, **key()})
        big = {**charge, "description": OVERSIZED}
        send("/v1/charges", "POST", body=big, headers={**token, **key()})
    if name == "notifications":
        note = {"channel": "email", "recipient": "a@example.com", "template": "welcome"}
        token = bearer("notifications", "notifications:send")
        send("/v1/notifications", "POST", body=note, headers=token)
        send("/v1/notifications", "POST", body=note)
        wrong_scope = bearer("notifications", "notifications:read")
        send("/v1/notifications", "POST", body=note, headers=wrong_scope)
        send("/v1/notifications", "POST", body={**note, "channel": "sms"}, headers=token)
        big = {**note, "data": {"text": OVERSIZED}}
        send("/v1/notifications", "POST", body=big, headers=token)
    if name == "orders":
        send("/v1/catalog", "GET")
        order = {"items": [{"sku": _first_sku(url), "quantity": 1}], "card_token": "tok_visa"}
        token = bearer("orders", "orders:write")
        send("/v1/orders", "POST", body=order, headers={**token, **key()})
        send("/v1/orders", "POST", body=order, headers=token)
        send("/v1/orders", "POST", body=order, headers=key())
        declined = {**order, "card_token": "tok_declined"}
        send("/v1/orders", "POST", body=declined, headers={**token, **key()})
        send("/v1/orders", "POST", body=order, headers={**bearer("orders", "orders:read"), **key()})
        unknown = {**order, "items": [{"sku": "no-such-sku", "quantity": 1}]}
        send("/v1/orders", "POST", body=unknown, headers={**token, **key()})
        big = {**order, "card_token": OVERSIZED}
        send("/v1/orders", "POST", body=big, headers={**token, **key()})
        for outage in (
            outages.orders_payments_refused,
            outages.orders_payments_failing,
            outages.orders_payments_slow,
        ):
            headers = {**token, **key()}
            answer = send(
                "/v1/orders", "POST", outage.url, OUTAGE_CHECKS, body=order, headers=headers
            )
            outage_answers[answer.status_code] = answer

    # Readiness: 200 now; 503 while starting (no JWKS) or draining (after SIGTERM).
    send("/readyz", "GET")
    if name == "notifications":
        send("/readyz", "GET", outages.notifications_without_auth.url, OUTAGE_CHECKS)
    draining = outages.draining(name)
    if draining is not None:
        draining.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal handler flips readiness at once; allow for a busy CPU
        send("/readyz", "GET", draining.url, OUTAGE_CHECKS)


def _first_sku(orders_url: str) -> str:
    return str(httpx.get(orders_url + "/v1/catalog", timeout=5).json()["items"][0]["sku"])


@pytest.mark.timeout(900)  # the module fixture runs every case (minutes in the full profile)
@pytest.mark.parametrize("service", SERVICES)
def test_no_response_breaks_the_documented_contract(fuzz_run: FuzzRun, service: str) -> None:
    """No 5xx outside an outage, and every status, media type, body and header as documented."""
    findings = fuzz_run.findings[service]
    assert findings.requests >= PROFILE.examples_per_operation
    assert findings.failures == [], "\n\n".join(findings.failures[:5])


@pytest.mark.parametrize("service", SERVICES)
def test_every_documented_status_is_exercised(fuzz_run: FuzzRun, service: str) -> None:
    findings = fuzz_run.findings[service]
    assert findings.missing(fuzz_run.schemas[service]) == {}


def test_the_outage_statuses_carry_retry_advice(fuzz_run: FuzzRun) -> None:
    """503 and 504 tell the client when to retry; 502 (a failing dependency) does not promise."""
    answers = fuzz_run.outage_answers
    assert sorted(answers) == [502, 503, 504]
    assert answers[503].headers["retry-after"] == ["1"]
    assert answers[504].headers["retry-after"] == ["1"]
    assert "retry-after" not in answers[502].headers
    assert {answer.json()["dependency"] for answer in answers.values()} == {"payments"}
