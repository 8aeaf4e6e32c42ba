"""The pieces under the verbs: one-value edits of the environment file, the environment's
release and context from helmfile.yaml, and how the release history explains the idle color."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from platformctl.backend import BackendError
from platformctl.kubernetes import build_backend
from platformctl.kubernetes.envfile import (
    EnvironmentFile,
    EnvironmentFileError,
    replace_scalar,
)
from platformctl.kubernetes.release import Lineage, ServiceRelease, judge, lineage

from tests.kubernetes.fake_cluster import FakeCluster

REPO_ROOT = Path(__file__).resolve().parents[2]


def _diff(before: str, after: str) -> list[str]:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "kind"])
def test_each_edit_changes_one_line_of_every_environment_file(environment: str, tmp_path: Path):
    path = tmp_path / f"{environment}.yaml"
    path.write_text((REPO_ROOT / "environments" / f"{environment}.yaml").read_text())
    file = EnvironmentFile(path)
    before = path.read_text()
    green = file.state().services["orders"].versions["green"]
    old = file.set({("services", "orders", "green", "version"): "sha-1a2b3c4"})
    assert old == {("services", "orders", "green", "version"): green}
    after_version = path.read_text()
    [removed, added] = _diff(before, after_version)
    assert (removed, added) == (
        f'-    green: {{version: "{green}", replicas: ""}}',
        '+    green: {version: "sha-1a2b3c4", replicas: ""}',
    )
    file.set({("services", "orders", "green", "replicas"): "0"})
    assert _diff(after_version, path.read_text()) == [
        '-    green: {version: "sha-1a2b3c4", replicas: ""}',
        '+    green: {version: "sha-1a2b3c4", replicas: "0"}',
    ]
    assert file.state().services["orders"].replicas == {"blue": "", "green": "0"}
    after_version = path.read_text()
    file.set({("activeColor",): "green"})
    assert _diff(after_version, path.read_text()) == ["-activeColor: blue", "+activeColor: green"]
    assert file.state().live("orders") == "green"
    assert file.state().services["orders"].versions["green"] == "sha-1a2b3c4"
    after_version = path.read_text()
    file.set({("services", "orders", "canaryWeight"): "25"})
    assert _diff(after_version, path.read_text()) == [
        '-    canaryWeight: ""',
        '+    canaryWeight: "25"',
    ]
    assert file.state().services["orders"].canary_weight == "25"
    # Comments survive: every comment line of the original is still there.
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(line in path.read_text().splitlines() for line in comments)


def test_setting_the_same_value_writes_nothing(tmp_path: Path):
    path = tmp_path / "env.yaml"
    path.write_text("activeColor: blue  # live\n")
    assert EnvironmentFile(path).set({("activeColor",): "blue"}) == {}
    assert path.read_text() == "activeColor: blue  # live\n"


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("v: {version: 1.0}  # plain\n", "1.1", 'v: {version: "1.1"}  # plain\n'),
        ("v: {version: '1.0'}\n", "it's", "v: {version: 'it''s'}\n"),
        ('v:\n  version: "0.1.0" # quoted\n', "0.2.0", 'v:\n  version: "0.2.0" # quoted\n'),
        ("v:\n  version: old\n", "yes", 'v:\n  version: "yes"\n'),
    ],
)
def test_values_keep_their_quoting_and_stay_strings(text: str, value: str, expected: str):
    assert replace_scalar(text, ("v", "version"), value) == expected


def test_only_single_values_can_be_edited():
    with pytest.raises(EnvironmentFileError, match="not a single value"):
        replace_scalar("services:\n  auth: {}\n", ("services", "auth"), "x")
    with pytest.raises(EnvironmentFileError, match="no key 'nope'"):
        replace_scalar("services: {}\n", ("services", "nope"), "x")


def test_environment_release_namespace_and_context_come_from_helmfile(tmp_path: Path):
    kind = build_backend("kind", commands=FakeCluster(tmp_path, "kind", "platform-kind"))
    assert kind.helm("history", "platform", output_json=True) == [
        "helm", "history", "platform", "--namespace", "platform-kind",
        "--kube-context", "kind-platform", "--output", "json",
    ]  # fmt: skip
    assert kind.kubectl("get", "services")[:5] == [
        "kubectl", "--context", "kind-platform", "--namespace", "platform-kind",
    ]  # fmt: skip
    prod = build_backend("prod", commands=FakeCluster(tmp_path, "prod", "platform-prod"))
    assert prod.helm("status", "platform") == ["helm", "status", "platform", "--namespace",
                                              "platform-prod"]  # fmt: skip
    assert prod.environment.file == REPO_ROOT / "environments" / "prod.yaml"
    with pytest.raises(BackendError, match=r"unknown environment 'qa'.*dev, staging, prod, kind"):
        build_backend("qa")


def _state(live: str, blue: str, green: str, *, aborted: bool = False) -> ServiceRelease:
    """A revision's state; ``aborted``: its idle color at zero replicas, as `abort` leaves it."""
    idle = "green" if live == "blue" else "blue"
    return ServiceRelease(live, {"blue": blue, "green": green}, {idle: 0} if aborted else {})


def test_a_partial_history_is_judged_only_when_older_states_cannot_change_it() -> None:
    two_aborts = [_state("blue", "1", "1", aborted=True), _state("blue", "1", "2"),
                  _state("blue", "1", "3")]  # fmt: skip
    assert judge(two_aborts, complete=False) is None  # an older state may repeat the newest
    promoted = [_state("green", "1", "2"), _state("blue", "1", "2")]
    assert judge(promoted, complete=False) is None  # was that flip a rollback?
    deployed = [_state("blue", "1", "2"), _state("blue", "1", "1"), _state("green", "1", "1")]
    assert judge(deployed, complete=False) == Lineage(True, None, "1")


@pytest.mark.parametrize(
    ("history", "pending", "previous", "restores"),
    [
        pytest.param([_state("blue", "1", "1")], False, None, None, id="first install"),
        pytest.param([_state("blue", "1", "2"), _state("blue", "1", "1")], True, None, "1",
                     id="deploy"),
        pytest.param(
            [_state("green", "1", "2"), _state("blue", "1", "2"), _state("blue", "1", "1")],
            False, "blue", None, id="promote",
        ),
        pytest.param(
            [_state("blue", "1", "2"), _state("green", "1", "2"), _state("blue", "1", "2")],
            False, None, None, id="rollback (undid the promotion)",
        ),
        pytest.param(
            [_state("blue", "3", "2"), _state("blue", "1", "2"), _state("green", "1", "2")],
            False, None, None, id="redeploy of the live color in place",
        ),
        pytest.param(
            [_state("blue", "1", "1", aborted=True), _state("blue", "1", "2"),
             _state("blue", "1", "1")],
            False, None, None, id="abort (undid the deploy)",
        ),
        pytest.param(
            [_state("blue", "1", "2"), _state("blue", "1", "1", aborted=True),
             _state("blue", "1", "2"), _state("blue", "1", "1")],
            True, None, "1", id="the aborted version deployed again is pending",
        ),
        pytest.param(
            [_state("blue", "1", "2", aborted=True), _state("blue", "1", "3"),
             _state("blue", "1", "2"), _state("blue", "1", "1")],
            False, None, None, id="abort of a second deploy: nothing pending (the color is at 0)",
        ),
        pytest.param(
            [_state("green", "1", "2", aborted=True), _state("green", "3", "2"),
             _state("green", "1", "2"), _state("blue", "1", "2"), _state("blue", "1", "1")],
            False, "blue", None, id="abort after a promotion: the rollback target is back",
        ),
        pytest.param(
            [_state("blue", "1", "1", aborted=True), _state("blue", "1", "2", aborted=True),
             _state("blue", "1", "3"), _state("blue", "1", "2"), _state("blue", "1", "1")],
            False, None, None, id="two aborts in a row: back to the start",
        ),
        pytest.param(
            [_state("green", "1", "2", aborted=True), _state("green", "4", "2"),
             _state("green", "1", "2", aborted=True), _state("green", "3", "2"),
             _state("green", "1", "2"), _state("blue", "1", "2"), _state("blue", "1", "1")],
            False, "blue", None, id="deploy and abort twice after a promotion",
        ),
    ],
)  # fmt: skip
def test_lineage_tells_a_new_deploy_from_the_previous_release(
    history: list[ServiceRelease], pending: bool, previous: str | None, restores: str | None
):
    assert lineage(history) == Lineage(pending, previous, restores)


def test_terminating_endpoints_are_not_part_of_a_color():
    """Right after a rollout the replaced pods linger, terminating and not ready: a promotion
    must not wait for them (found on the real cluster: `promote` right after `deploy`)."""
    from platformctl.kubernetes.cluster import endpoints, serving_problem

    def endpoint(pod: str, **conditions: bool) -> dict:
        return {"targetRef": {"name": pod}, "conditions": conditions}

    slices = {
        "items": [
            {
                "metadata": {"labels": {"kubernetes.io/service-name": "orders-preview"}},
                "endpoints": [
                    endpoint("orders-green-new-a", ready=True),
                    endpoint("orders-green-old-b", ready=False, terminating=True),
                ],
            }
        ]
    }
    found = endpoints(slices)["orders-preview"]
    assert [e.pod for e in found] == ["orders-green-new-a"]
    assert serving_problem("orders", "green", found) is None


def test_what_platformctl_needs_beyond_helmfile_comes_from_that_environment_only():
    from localcluster import monitoring
    from platformctl.kubernetes import load_environment
    from platformctl.paths import repo_root

    local = load_environment("local", repo_root())
    assert local.prometheus_url == monitoring.URL
    assert local.helmfile_flags == ("--skip-deps",)
    for name in ("dev", "staging", "prod", "kind"):
        other = load_environment(name, repo_root())
        assert (other.prometheus_url, other.helmfile_flags) == (None, ())


@pytest.mark.parametrize(
    ("stable", "percent", "pods", "taken"),
    [
        (2, 10, 1, 33),  # the precision a small service pays: 1 pod is a third
        (2, 25, 1, 33),
        (2, 50, 2, 50),
        (2, 75, 2, 50),  # at most the stable color's size: the stable color never shrinks
        (10, 10, 1, 9),
        (10, 25, 3, 23),
        (3, 10, 1, 25),
    ],
)
def test_a_canary_step_takes_its_share_of_the_pods(stable, percent, pods, taken):
    from platformctl.kubernetes.canary import canary_pods, share

    assert canary_pods(stable, percent) == pods
    assert share(pods, stable) == taken


def test_a_canary_split_is_the_stable_pods_and_the_canary_s_all_ready():
    from platformctl.kubernetes.canary import measured_share, share, split_problem
    from platformctl.kubernetes.cluster import Endpoint

    stable = [Endpoint("orders-blue-a1-x", True), Endpoint("orders-blue-a1-y", True)]
    canary = [Endpoint("orders-green-b2-z", True)]
    assert split_problem("orders", "blue", "green", 1, stable + canary) is None
    assert measured_share("orders", "green", stable + canary) == 33
    assert (share(2, 10), share(1, 7)) == (17, 13)  # rounded half up, as the file records it
    assert split_problem("orders", "blue", "green", 1, stable) == "0 green endpoints, not 1"
    assert split_problem("orders", "blue", "green", 1, canary) == "no ready blue endpoints"
    starting = [Endpoint("orders-green-b2-z", False)]
    assert split_problem("orders", "blue", "green", 1, stable + starting) == (
        "not ready: orders-green-b2-z"
    )


@pytest.mark.parametrize(
    ("stable", "percent", "pods"),
    [(2, 10, 1), (2, 50, 1), (2, 75, 2), (3, 10, 1), (10, 25, 3), (10, 99, 10)],
)
def test_a_routed_canary_step_gets_its_share_of_the_capacity(stable, percent, pods):
    """By gateway the weight is exact at any size; the canary's pods only carry its share."""
    from platformctl.kubernetes.canary import routed_canary_pods

    assert routed_canary_pods(stable, percent) == pods
    with pytest.raises(ValueError, match="between 1 and 99, not 100"):
        routed_canary_pods(stable, 100)


def _route(weights: dict[str, int], *, generation: int = 3, observed: int = 3) -> dict:
    accepted = [
        {"type": kind, "status": "True", "observedGeneration": observed}
        for kind in ("Accepted", "ResolvedRefs")
    ]
    return {
        "metadata": {"name": "orders", "namespace": "platform-local", "generation": generation},
        "spec": {"rules": [{"backendRefs": [{"name": n, "port": 80, "weight": w}
                                            for n, w in weights.items()]}]},
        "status": {"parents": [{"parentRef": {"name": "platform"}, "conditions": accepted}]},
    }  # fmt: skip


def test_a_routed_step_is_in_place_once_a_gateway_accepted_its_weights():
    from platformctl.kubernetes.canary import ready_canary_problem, route_problem, route_weight
    from platformctl.kubernetes.cluster import Endpoint

    step = _route({"orders": 90, "orders-preview": 10})
    assert route_weight(step, "orders-preview") == 10
    assert route_problem(step, "orders-preview", 10) is None
    assert route_problem(step, "orders-preview", 25) == (
        "the HTTPRoute gives orders-preview 10%, not 25%"
    )
    stale = _route({"orders": 90, "orders-preview": 10}, generation=4)
    assert route_problem(stale, "orders-preview", 10) == (
        "no gateway has accepted generation 4 of the HTTPRoute yet"
    )
    # Only the environment's own Gateway counts (the route's parentRef names no namespace: its
    # own, platform-local here).
    assert route_problem(step, "orders-preview", 10, ("platform", "platform-local")) is None
    assert route_problem(step, "orders-preview", 10, ("platform", "gateway-system")) == (
        "Gateway gateway-system/platform has not accepted generation 3 of the HTTPRoute yet"
    )
    assert route_problem(_route({"orders": 100}), "orders-preview", 0) is None
    assert route_problem(None, "orders-preview", 0).startswith("no HTTPRoute")
    canary = [Endpoint("orders-green-b2-z", True)]
    assert ready_canary_problem(canary, 1) is None
    assert ready_canary_problem(canary, 2) == "1 preview endpoints, not 2"
    assert ready_canary_problem([Endpoint("orders-green-b2-z", False)], 1) == (
        "not ready: orders-green-b2-z"
    )


def test_canary_routing_comes_from_the_environment_and_is_checked(tmp_path: Path):
    from platformctl.kubernetes import load_environment
    from platformctl.paths import repo_root

    shipped = load_environment("local", repo_root())
    assert (shipped.canary_routing, shipped.gateway) == ("replicas", None)
    repo = tmp_path / "repo"
    shutil.copytree(repo_root() / "environments", repo / "environments")
    shutil.copy(repo_root() / "helmfile.yaml", repo)
    local = repo / "environments" / "local.yaml"
    local.write_text(local.read_text().replace("  mode: replicas", "  mode: gateway"))
    routed = load_environment("local", repo)
    assert (routed.canary_routing, routed.gateway) == ("gateway", ("platform", "gateway-system"))
    local.write_text(local.read_text().replace("  mode: gateway", "  mode: mesh"))
    with pytest.raises(BackendError, match=r"canaryRouting\.mode must be one of replicas, gateway"):
        load_environment("local", repo)


def test_a_live_service_selecting_both_colors_names_its_stable_color():
    from platformctl.kubernetes.cluster import selected_colors

    def service(name: str, selector: dict, annotations: dict | None = None) -> dict:
        return {"metadata": {"name": name, "annotations": annotations or {}},
                "spec": {"selector": {"app.kubernetes.io/name": "orders", **selector}}}  # fmt: skip

    found = selected_colors({"items": [
        service("orders", {}, {"platform/stable-color": "blue"}),
        service("orders-preview", {"color": "green"}),
        service("platform-prometheus-server", {}),
    ]})  # fmt: skip
    assert found == {"orders": "blue", "orders-preview": "green"}
