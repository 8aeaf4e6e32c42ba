"""Disruptions run inside the runbook's k6 window (tests/cluster/test_runbook.py), after the
runbook's own steps, so the same in-cluster load and its verdict (0 failed requests) cover them:

- a second node joins (`localcluster add-node`);
- evictions through the API (what `kubectl drain` sends) respect the PodDisruptionBudgets: with
  `maxUnavailable: 1`, the second pod of a color is refused until the first one's replacement
  is ready. The replacements spread over the two nodes (the chart's topology spread);
- `kubectl drain` of the second node sends its pods back to the first, and the node leaves
  (`localcluster remove-node`);
- the first node's kubelet, then its containerd, are restarted in place (`localcluster
  restart`): the pods' containers keep running (no restart counted) and serving, and the node
  reports again.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.cluster.kube import NAMESPACE, run
from tests.support.progress import say
from tests.support.tools import tool

EVICTED = ("orders", "blue")  # the live color after the runbook's rollback
SECOND_NODE = "platform-node-2"


def kubectl_json(env: dict[str, str], *args: str) -> dict:
    return json.loads(run(env, "kubectl", "-n", NAMESPACE, *args, "-o", "json", timeout=30).stdout)


def evict(env: dict[str, str], pod: str) -> subprocess.CompletedProcess:
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": NAMESPACE},
    }
    path = f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction"
    return subprocess.run(
        ["kubectl", "create", "--raw", path, "-f", "-"],
        input=json.dumps(body), env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def wait_available(env: dict[str, str], deployment: str) -> None:
    done = run(env, "kubectl", "-n", NAMESPACE, "rollout", "status", f"deployment/{deployment}",
               "--timeout=120s", timeout=130)  # fmt: skip
    assert done.returncode == 0, done.stderr


def serving_restart_counts(env: dict[str, str]) -> dict[str, int]:
    """Container restarts of every pod that serves (ready, not terminating)."""
    return {
        pod["metadata"]["name"]: sum(c["restartCount"] for c in pod["status"]["containerStatuses"])
        for pod in kubectl_json(env, "get", "pods")["items"]
        if _serving(pod)
    }


def _serving(pod: dict) -> bool:
    ready = any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
    )
    return ready and "deletionTimestamp" not in pod["metadata"]


def evicted_color_pods(env: dict[str, str]) -> list[dict]:
    service, color = EVICTED
    selector = f"app.kubernetes.io/name={service},color={color}"
    return kubectl_json(env, "get", "pods", "-l", selector)["items"]


def evictions_respect_the_budget(env: dict[str, str]) -> dict[str, float]:
    service, color = EVICTED
    pods = {"items": evicted_color_pods(env)}
    # Serving pods only: evicting one that is already terminating (the runbook's deleted pod
    # may still be draining) is allowed without touching the budget.
    serving = [p["metadata"]["name"] for p in pods["items"] if _serving(p)]
    assert len(serving) == 2, [p["metadata"]["name"] for p in pods["items"]]
    first, second = serving
    started, figures = time.monotonic(), {}
    assert evict(env, first).returncode == 0
    refused = evict(env, second)
    assert refused.returncode != 0
    assert "disruption budget" in refused.stderr, refused.stderr
    deadline = time.monotonic() + 90
    while (second_eviction := evict(env, second)).returncode != 0:
        # Allowed again once the first one's replacement is ready and the disruption
        # controller has counted it.
        assert "disruption budget" in second_eviction.stderr, second_eviction.stderr
        assert time.monotonic() < deadline, "the second eviction was never allowed"
        time.sleep(1)
    figures["second_eviction_allowed_after_seconds"] = round(time.monotonic() - started, 1)
    wait_available(env, f"{service}-{color}")
    figures["both_evicted_and_replaced_seconds"] = round(time.monotonic() - started, 1)
    return figures


def node_daemons_restart_and_pods_keep_running(env: dict[str, str]) -> dict[str, float]:
    figures, before = {}, serving_restart_counts(env)
    for daemon in ("kubelet", "containerd"):
        restarted = run(env, tool("localcluster"), "restart", daemon, timeout=120)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        figures[f"{daemon}_restart_node_reporting_seconds"] = float(
            restarted.stdout.rsplit("after ", 1)[1].split(" s")[0]
        )
    ready = run(env, "kubectl", "get", "node", "-o",
                "jsonpath={.items[0].status.conditions[?(@.type=='Ready')].status}")  # fmt: skip
    assert ready.stdout == "True"
    # The evicted pods may finish terminating meanwhile: compare the pods still serving.
    after = serving_restart_counts(env)
    kept = {name: count for name, count in before.items() if name in after}
    assert kept, "no pod served through the restarts"
    assert {name: after[name] for name in kept} == kept, "a container restarted with the daemons"
    return figures


def second_node_joins(env: dict[str, str]) -> dict[str, float]:
    added = run(env, tool("localcluster"), "add-node", timeout=300)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "joined and schedulable in" in added.stdout, "the second node was already there"
    return {"second_node_join_seconds": float(added.stdout.rsplit(" in ", 1)[1].split(" s")[0])}


def serving_nodes(env: dict[str, str]) -> list[str]:
    """The nodes of the evicted color's serving pods, sorted."""
    return sorted(p["spec"]["nodeName"] for p in evicted_color_pods(env) if _serving(p))


def placements(env: dict[str, str]) -> list[tuple[str, str, str, bool]]:
    """Each pod of the evicted color: name, node, creation time, serving; for a failure's message
    (a soft spread leaves the choice to the scheduler's scores)."""
    return [
        (p["metadata"]["name"], p["spec"].get("nodeName", ""),
         p["metadata"]["creationTimestamp"], _serving(p))
        for p in evicted_color_pods(env)
    ]  # fmt: skip


def drain_moves_the_pods_back(env: dict[str, str]) -> dict[str, float]:
    """`kubectl drain` as an operator runs it: cordon, evict through the API (retrying while a
    budget refuses), wait until the evicted pods are gone; the replacements land on the first
    node, the only one schedulable."""
    started = time.monotonic()
    drained = run(env, "kubectl", "drain", SECOND_NODE, "--ignore-daemonsets",
                  "--delete-emptydir-data", "--timeout=120s", timeout=150)  # fmt: skip
    assert drained.returncode == 0, drained.stdout + drained.stderr
    figures = {"drain_seconds": round(time.monotonic() - started, 1)}
    wait_available(env, "-".join(EVICTED))
    figures["drained_and_replaced_seconds"] = round(time.monotonic() - started, 1)
    assert serving_nodes(env) == ["platform-node", "platform-node"]
    left = run(env, "kubectl", "get", "pods", "-A", "--field-selector",
               f"spec.nodeName={SECOND_NODE}", "-o", "name")  # fmt: skip
    assert left.stdout.strip() == "", f"pods left on the drained node: {left.stdout}"
    removed = run(env, tool("localcluster"), "remove-node", timeout=300)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    gone = run(env, "kubectl", "get", "node", SECOND_NODE)
    assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stdout + gone.stderr
    # Its namespace (and with it its veth, routes and iptables) and its cgroup root went too.
    assert not Path(f"/run/netns/{SECOND_NODE}").exists()
    assert not Path(f"/sys/fs/cgroup/cpu/{SECOND_NODE}").exists()
    return figures


def run_disruptions(env: dict[str, str]) -> dict[str, object]:
    figures: dict[str, object] = {}
    try:
        figures |= second_node_joins(env)
        figures |= evictions_respect_the_budget(env)
        # The chart's topology spread (maxSkew 1 by hostname): one replacement on each node.
        figures["spread_after_evictions"] = serving_nodes(env)
        assert figures["spread_after_evictions"] == ["platform-node", SECOND_NODE], placements(env)
        say(f"  disruptions: second node, evictions {figures}")
        figures |= drain_moves_the_pods_back(env)
    finally:
        # Whatever failed above, the rest of the suite runs on the first node alone.
        removed = run(env, tool("localcluster"), "remove-node", timeout=300)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    figures |= node_daemons_restart_and_pods_keep_running(env)
    say(f"  disruptions: {figures}")
    return figures
