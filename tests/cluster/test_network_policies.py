"""The chart's NetworkPolicies, enforced on the real cluster (kube-router's firewall controller,
started by `localcluster up`): every call between the four services that a service's
`dependencies` declare succeeds, every other one is refused; so are a pod in another namespace
and egress to anything but DNS and the declared peers. DNS resolves and Prometheus still
scrapes every pod. The matrix is saved for docs/local-cluster.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime

import pytest
import yaml
from localcluster import access, monitoring, paths
from platform_images import SERVICES
from platformctl.dashboards.prometheus import PrometheusClient

from tests.cluster.kube import NAMESPACE, REPO_ROOT, run

pytestmark = pytest.mark.timeout(600)

MATRIX = paths.STATE_DIR / "network-policy-matrix.json"
# Outside the declared peers and DNS: the host's Prometheus and the Kubernetes API.
OUTSIDE = {
    "the host (Prometheus)": f"http://{paths.HOST_IP}:{monitoring.PORT}/-/ready",
    "the Kubernetes API": f"https://{paths.KUBERNETES_SERVICE_IP}/readyz",
}
# A pod elsewhere carrying the client label orders admits, to show the label alone does not
# get across namespaces; the load generator's namespace is admitted by its own rule.
OTHER_NAMESPACE = "netpol-probe"
CALL_TIMEOUT = 3.0
# How a forbidden call ends: the connection itself fails (kube-router rejects; a dropping agent
# would time out). A TLS or HTTP error would mean the peer was reached.
NOT_CONNECTED = {"ConnectionRefusedError", "TimeoutError"}

# Runs in a service's pod (its image has Python, not curl): one line of JSON per URL.
PROBE = """
import json, sys, time, urllib.error, urllib.request
for url in sys.argv[1:]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            outcome = {"ok": True, "status": response.status}
    except urllib.error.HTTPError as error:
        outcome = {"ok": True, "status": error.code}
    except Exception as error:  # refused, timed out, unresolvable: all are "not reached"
        outcome = {"ok": False, "error": type(getattr(error, "reason", error)).__name__}
    outcome.update(url=url, ms=round((time.monotonic() - started) * 1000, 1))
    print(json.dumps(outcome))
"""


def dependencies(service: str) -> set[str]:
    chart = REPO_ROOT / "charts" / "platform" / "charts" / service / "values.yaml"
    return set(yaml.safe_load(chart.read_text()).get("dependencies") or {})


def url(service: str) -> str:
    return (
        f"http://{service}/.well-known/jwks.json"
        if service == "auth"
        else f"http://{service}/readyz"
    )


def probe_from(env: dict[str, str], service: str, urls: list[str]) -> dict[str, dict]:
    result = run(
        env, "kubectl", "-n", NAMESPACE, "exec", f"deploy/{service}-blue", "--",
        "python", "-c", PROBE.replace("TIMEOUT", str(CALL_TIMEOUT)), *urls,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {o["url"]: o for o in outcomes}


# Probe pods with curl, none selected by any policy of their own: (namespace, name) -> labels.
# In the platform's namespace a stranger is refused by every service's ingress rule, and a pod
# with every client label is let in (so refusals are not a missing endpoint). Elsewhere, the
# client label orders admits does not cross namespaces; the load generator's namespace does.
STRANGER = (NAMESPACE, "netpol-stranger")
CLIENT = (NAMESPACE, "netpol-client")
LOAD_GENERATOR = (access.LOAD_NAMESPACE, "netpol-probe")
ELSEWHERE = (OTHER_NAMESPACE, "netpol-probe")
PROBES = {
    STRANGER: {},
    CLIENT: {f"platform/calls-{service}": "true" for service in SERVICES},
    LOAD_GENERATOR: {"platform/calls-orders": "true"},
    ELSEWHERE: {"platform/calls-orders": "true"},
}
REFUSED_ROUNDS = 5  # a forbidden call is tried this many times, 0.5 s apart: all must fail
# curl's "could not connect" (kube-router rejects) and "timed out" (a dropping agent).
CURL_NOT_CONNECTED = {7, 28}


def service_url(service: str) -> str:
    return f"http://{service}.{NAMESPACE}.svc.cluster.local/readyz"


def start_probes(env: dict[str, str]) -> None:
    """Every probe pod at once, then all Ready: one kube-router sync can know them all."""
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {
                        "name": "probe",
                        "image": "localhost/platform-curl:debian",
                        "imagePullPolicy": "Never",
                        "command": ["sleep", "600"],
                    }
                ],
            },
        }
        for (namespace, name), labels in PROBES.items()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        file.write(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
        file.flush()
        assert run(env, "kubectl", "apply", "-f", file.name).returncode == 0
    for namespace, name in PROBES:
        ready = run(env, "kubectl", "-n", namespace, "wait", f"pod/{name}",
                    "--for=condition=Ready", "--timeout=90s", timeout=100)  # fmt: skip
        assert ready.returncode == 0, ready.stderr


def stop_probes(env: dict[str, str]) -> None:
    for namespace, name in PROBES:
        run(env, "kubectl", "-n", namespace, "delete", "pod", name, "--ignore-not-found",
            "--wait=false")  # fmt: skip
    run(env, "kubectl", "delete", "namespace", OTHER_NAMESPACE, "--timeout=90s", timeout=100)


def curl_each(env: dict[str, str], probe: tuple[str, str], urls: list[str]) -> dict[str, int]:
    """curl's exit code for each URL from the probe pod (0: an HTTP answer came back)."""
    namespace, name = probe
    script = (
        'for url in "$@"; do curl -ksS -o /dev/null -m ' + str(CALL_TIMEOUT)
        + ' "$url" 2>/dev/null; echo "$? $url"; done'
    )  # fmt: skip
    result = run(env, "kubectl", "-n", namespace, "exec", name, "--", "sh", "-c", script,
                 "probe", *urls, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {
        url: int(code) for code, url in (line.split(" ", 1) for line in result.stdout.splitlines())
    }


def answered(env: dict[str, str], probe: tuple[str, str], urls: list[str]) -> dict:
    """Retried for up to 15 s until every URL answers: kube-router admits a new pod's address
    a moment after the pod starts (1.6 s seen)."""
    attempts = 0
    while attempts < 30:
        attempts += 1
        codes = curl_each(env, probe, urls)
        if not any(codes.values()):
            break
        time.sleep(0.5)
    return {"exit_codes": codes, "attempts": attempts}


def refused(env: dict[str, str], probe: tuple[str, str], urls: list[str]) -> dict:
    """Tried REFUSED_ROUNDS times, after the allowed probes got through."""
    rounds = []
    for _ in range(REFUSED_ROUNDS):
        rounds.append(curl_each(env, probe, urls))
        time.sleep(0.5)
    return {"exit_codes_by_round": rounds}


@pytest.fixture(scope="module")
def matrix(release) -> dict:
    """Every service calls the three others and the two outside addresses; the probe pods call
    the Services and the outside addresses. Saved as MATRIX."""
    env = release
    calls: dict[str, dict[str, dict]] = {}
    for source in SERVICES:
        peers = [s for s in SERVICES if s != source]
        outcomes = probe_from(env, source, [url(p) for p in peers] + list(OUTSIDE.values()))
        calls[source] = {p: outcomes[url(p)] for p in peers}
        calls[source].update({name: outcomes[u] for name, u in OUTSIDE.items()})
    every_service = [service_url(s) for s in SERVICES]
    orders = [service_url("orders")]
    run(env, "kubectl", "create", "namespace", OTHER_NAMESPACE)
    try:
        start_probes(env)
        probes = {
            "client in the platform's namespace -> every service": answered(
                env, CLIENT, every_service
            ),
            "load generator's namespace -> orders": answered(env, LOAD_GENERATOR, orders),
            "another namespace -> the host and the API (no policy of its own)": answered(
                env, ELSEWHERE, list(OUTSIDE.values())
            ),
            "stranger in the platform's namespace -> every service": refused(
                env, STRANGER, every_service
            ),
            "another namespace, with orders' client label -> orders": refused(
                env, ELSEWHERE, orders
            ),
        }
    finally:
        stop_probes(env)
    result = {"calls": calls, "probes": probes}
    MATRIX.write_text(json.dumps(result, indent=2))
    return result


@pytest.mark.parametrize("source", SERVICES)
def test_declared_calls_succeed_and_the_rest_are_refused(matrix: dict, source: str) -> None:
    allowed = dependencies(source)
    for peer, outcome in matrix["calls"][source].items():
        if peer in allowed:
            assert outcome["ok"] and outcome["status"] == 200, (source, peer, outcome)
        else:
            # kube-router rejects (ICMP port unreachable): refused at once, never answered.
            assert outcome.get("error") in NOT_CONNECTED, f"{source} -> {peer}: {outcome}"
            assert outcome["ms"] < CALL_TIMEOUT * 1000, outcome


def test_the_declared_peers_are_the_ones_the_issue_names() -> None:
    """orders -> payments and notifications, everyone -> auth's JWKS; nothing else."""
    assert dependencies("orders") == {"auth", "payments", "notifications"}
    assert dependencies("payments") == dependencies("notifications") == {"auth"}
    assert dependencies("auth") == set()


def test_egress_outside_the_declared_peers_is_refused(matrix: dict) -> None:
    for source in SERVICES:
        for name in OUTSIDE:
            outcome = matrix["calls"][source][name]
            assert outcome.get("error") in NOT_CONNECTED, (source, name, outcome)


def test_dns_resolves_under_the_policies(matrix: dict) -> None:
    """Every call by Service name resolved: a refused one fails to connect, not to resolve."""
    for source, outcomes in matrix["calls"].items():
        for peer, outcome in outcomes.items():
            assert outcome.get("error") != "gaierror", (source, peer, outcome)


def test_probe_pods_are_admitted_only_where_the_policies_say(matrix: dict) -> None:
    for what, outcome in matrix["probes"].items():
        if "exit_codes" in outcome:  # admitted: every URL answered
            assert not any(outcome["exit_codes"].values()), (what, outcome)
        else:  # refused: no URL ever connected, in any round
            for codes in outcome["exit_codes_by_round"]:
                assert set(codes.values()) <= CURL_NOT_CONNECTED, (what, outcome)


def test_prometheus_still_scrapes_every_platform_pod(release) -> None:
    pods = json.loads(run(release, "kubectl", "-n", NAMESPACE, "get", "pods", "-o", "json").stdout)[
        "items"
    ]
    running = {p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"}
    with PrometheusClient(monitoring.URL) as prometheus:
        deadline = time.monotonic() + 60
        while True:
            up = prometheus.query(
                f'up{{job="kubernetes-pods", namespace="{NAMESPACE}"}}', datetime.now(UTC)
            )
            scraped = {s.labels["pod"] for s in up if s.values[-1] == 1}
            if running <= scraped or time.monotonic() > deadline:
                break
            time.sleep(2)
    assert running <= scraped, f"not scraped: {sorted(running - scraped)}"
