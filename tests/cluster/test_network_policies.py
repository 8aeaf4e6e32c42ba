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


def probe_pod(env: dict[str, str], namespace: str) -> str:
    """A sleeping pod with curl in ``namespace``, labelled as a client of orders."""
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "netpol-probe",
            "namespace": namespace,
            "labels": {"platform/calls-orders": "true"},
        },
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
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        file.write(json.dumps(manifest))
        file.flush()
        assert run(env, "kubectl", "apply", "-f", file.name).returncode == 0
    ready = run(env, "kubectl", "-n", namespace, "wait", "pod/netpol-probe",
                "--for=condition=Ready", "--timeout=90s", timeout=100)  # fmt: skip
    assert ready.returncode == 0, ready.stderr
    return namespace


def curl_from(env: dict[str, str], namespace: str, target: str, attempts: int = 1) -> dict:
    """curl from the probe pod, up to ``attempts`` times 0.5 s apart until one connects."""
    tried = 0
    while tried < attempts:
        tried += 1
        result = run(
            env, "kubectl", "-n", namespace, "exec", "netpol-probe", "--", "curl", "-sS",
            "-o", "/dev/null", "-m", str(CALL_TIMEOUT), "-w", "%{http_code}", target, timeout=60,
        )  # fmt: skip
        if result.returncode == 0:
            break
        time.sleep(0.5)
    return {
        "ok": result.returncode == 0,
        "status": result.stdout.strip(),
        "curl_exit": result.returncode,
        "error": result.stderr.strip()[-160:],
        "attempts": tried,
    }


@pytest.fixture(scope="module")
def matrix(release) -> dict:
    """Every service calls the three others and the two outside addresses; two probe pods call
    orders. Saved as MATRIX."""
    env = release
    calls: dict[str, dict[str, dict]] = {}
    for source in SERVICES:
        peers = [s for s in SERVICES if s != source]
        outcomes = probe_from(env, source, [url(p) for p in peers] + list(OUTSIDE.values()))
        calls[source] = {p: outcomes[url(p)] for p in peers}
        calls[source].update({name: outcomes[u] for name, u in OUTSIDE.items()})
    orders = f"http://orders.{NAMESPACE}.svc.cluster.local/readyz"
    namespaces: dict[str, dict] = {}
    run(env, "kubectl", "create", "namespace", OTHER_NAMESPACE)
    try:
        for namespace in (access.LOAD_NAMESPACE, OTHER_NAMESPACE):
            probe_pod(env, namespace)
        # kube-router admits a new pod's address a moment after it starts (1.6 s seen): the
        # admitted pod may retry for 15 s. Once it got through, the sync that admitted it knew
        # both pods, so one attempt from the other namespace is a fair test.
        namespaces[access.LOAD_NAMESPACE] = curl_from(env, access.LOAD_NAMESPACE, orders, 30)
        namespaces[OTHER_NAMESPACE] = curl_from(env, OTHER_NAMESPACE, orders)
    finally:
        run(env, "kubectl", "-n", access.LOAD_NAMESPACE, "delete", "pod", "netpol-probe",
            "--wait=false")  # fmt: skip
        run(env, "kubectl", "delete", "namespace", OTHER_NAMESPACE, "--timeout=90s", timeout=100)
    result = {"calls": calls, "into_orders_from_namespace": namespaces}
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


def test_a_pod_in_another_namespace_is_refused_and_the_load_generator_admitted(
    matrix: dict,
) -> None:
    into_orders = matrix["into_orders_from_namespace"]
    assert into_orders[access.LOAD_NAMESPACE]["ok"], into_orders
    assert into_orders[access.LOAD_NAMESPACE]["status"] == "200"
    refused = into_orders[OTHER_NAMESPACE]
    assert not refused["ok"] and refused["curl_exit"] == 7, refused  # 7: could not connect


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
