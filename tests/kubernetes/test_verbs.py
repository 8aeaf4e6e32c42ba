"""The Kubernetes backend through the runbook: the exact helmfile/helm/kubectl commands of each
verb, the one line each verb changes in environments/dev.yaml, and real analysis verdicts
(real Prometheus scraping real uvicorn processes behind the fake cluster's port-forwards)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from platformctl import runbook
from platformctl.analysis.config import load_config
from platformctl.backend import BackendError
from platformctl.catalog import SERVICES
from platformctl.kubernetes import rollback_to_revision
from platformctl.kubernetes.envfile import EnvironmentFile
from platformctl.traffic import Credentials
from rich.console import Console

from tests.kubernetes.conftest import (
    BAD,
    GOOD,
    NAMESPACE,
    Workloads,
    backend_for,
    fast_analysis,
    normalized,
)
from tests.kubernetes.fake_cluster import FakeCluster, FakeRevision

NS = f"--namespace {NAMESPACE}"
STATUS = f"helm status platform {NS} --output json"
HISTORY = f"helm history platform {NS} --output json"
GET_SERVICES = (
    f"kubectl {NS} get services --selector app.kubernetes.io/instance=platform --output json"
)
ALL_SERVICES = [*SERVICES, *(f"{name}-preview" for name in SERVICES)]


def values(revision: int) -> str:
    return f"helm get values platform --revision {revision} {NS} --output json"


def slices(*names: str) -> str:
    selector = f"kubernetes.io/service-name in ({','.join(names)})"
    return f"kubectl {NS} get endpointslices --selector {selector} --output json"


def forward(service: str, remote: int = 80) -> str:
    return f"kubectl {NS} port-forward --address 127.0.0.1 svc/{service} <port>:{remote}"


def rollout(deployment: str, timeout: int = 30) -> str:
    return f"kubectl {NS} rollout status deployment/{deployment} --timeout={timeout}s"


def apply(cluster: FakeCluster) -> str:
    return (
        f"helmfile --file {cluster.repo}/helmfile.yaml --environment dev apply --suppress-secrets"
    )


def read_status(*revisions: int, forwards: bool) -> list[str]:
    """What every verb starts with: the release, its history, the Services, the endpoints."""
    opened = [forward(name) for svc in SERVICES for name in (svc, f"{svc}-preview")]
    return [
        HISTORY,
        *(values(r) for r in revisions),
        GET_SERVICES,
        slices(*SERVICES, *(f"{name}-preview" for name in SERVICES)),
        *(opened if forwards else []),
    ]


def env_file(cluster: FakeCluster) -> Path:
    return cluster.repo / "environments" / "dev.yaml"


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def operator_sets(cluster: FakeCluster, **changes: str) -> None:
    """An earlier change, made by the book: edit environments/dev.yaml, `helmfile apply`."""
    paths = {tuple(key.split("__")): value for key, value in changes.items()}
    EnvironmentFile(env_file(cluster)).set(paths)
    cluster.operator_apply()


console = Console(width=200, highlight=False)
# For checks that stop before any traffic: deploy insists on credentials before it changes
# anything, so these tests pass some.
UNUSED_CREDENTIALS = Credentials("alice", "unused", "orders", "unused")


# -- deploy, promote: real smoke checks and real analysis ------------------------------------


def test_deploy_smoke_tests_the_idle_color(live_cluster: FakeCluster, workloads: Workloads):
    cluster = live_cluster
    original = env_file(cluster).read_text()
    with backend_for(cluster, forward=True, credentials=workloads.credentials) as backend:
        runbook.deploy(backend, ["payments"], GOOD, {}, console, ready_timeout=30)
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(1, forwards=True),
        apply(cluster),
        rollout("payments-green"),
        forward("payments"),
        forward("payments-preview"),
    ]
    deployed = env_file(cluster).read_text()
    assert changed_lines(original, deployed) == [
        '-    green: {version: "0.1.0", replicas: ""}',
        '+    green: {version: "1.1.0", replicas: ""}',
    ]
    assert _block_of(deployed, "1.1.0") == "payments"
    assert cluster.deployed().values["payments"]["green"]["image"]["tag"] == GOOD


@pytest.mark.slow
def test_promote_passes_both_analyses(
    live_cluster: FakeCluster, workloads: Workloads, tmp_path: Path
):
    """The happy path end to end (~12 s of analysis); the failing paths run in `make test`."""
    cluster = live_cluster
    operator_sets(cluster, services__payments__green__version=GOOD)
    deployed = env_file(cluster).read_text()
    cluster.calls.clear()
    config = fast_analysis(tmp_path)
    with backend_for(cluster, forward=True, credentials=workloads.credentials) as backend:
        runbook.promote(backend, ["payments"], config, console, scale_down_delay=-1)
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(2, 1, forwards=True),
        forward("platform-prometheus-server"),
        slices("payments-preview"),  # every idle endpoint ready before switching
        apply(cluster),
        slices("payments"),  # the live Service: the new color's pods only
        forward("payments"),
        forward("payments-preview"),
    ]
    promoted = env_file(cluster).read_text()
    assert changed_lines(deployed, promoted) == [
        '-    activeColor: ""',
        '+    activeColor: "green"',
    ]
    assert _block_of(promoted, 'activeColor: "green"') == "payments"
    assert cluster.live_colors() == {
        "auth": "blue", "orders": "blue", "payments": "green", "notifications": "blue",
    }  # fmt: skip


def test_failed_pre_promotion_gate_never_applies(
    live_cluster: FakeCluster, workloads: Workloads, tmp_path: Path
):
    cluster = live_cluster
    operator_sets(cluster, services__payments__green__version=BAD)
    before = env_file(cluster).read_text()
    cluster.calls.clear()
    with (
        backend_for(cluster, forward=True, credentials=workloads.credentials) as backend,
        pytest.raises(runbook.RunbookError, match="promotion refused") as refused,
    ):
        runbook.promote(backend, ["payments"], fast_analysis(tmp_path), console)
    # Failed on the data (5xx ratio), not for want of it (Inconclusive).
    assert "pre-promotion analysis failed for payments green" in str(refused.value)
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(2, 1, forwards=True),
        forward("platform-prometheus-server"),
    ]
    assert not any(call[0] == "helmfile" for call in cluster.calls)
    assert env_file(cluster).read_text() == before
    assert cluster.live_colors()["payments"] == "blue"


def test_post_promotion_failure_rolls_back_and_exits_non_zero(
    live_cluster: FakeCluster, workloads: Workloads, tmp_path: Path
):
    cluster = live_cluster
    operator_sets(cluster, services__payments__green__version=BAD)
    before = env_file(cluster).read_text()
    cluster.calls.clear()
    config = fast_analysis(tmp_path, lenient_pre=True)
    with (
        backend_for(cluster, forward=True, credentials=workloads.credentials) as backend,
        pytest.raises(runbook.RunbookError, match="rolled back automatically") as failed,
    ):
        runbook.promote(backend, ["payments"], config, console)
    assert "post-promotion analysis failed for payments green" in str(failed.value)
    assert failed.value.exit_code != 0
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(2, 1, forwards=True),
        forward("platform-prometheus-server"),
        # the promotion
        slices("payments-preview"),
        apply(cluster),
        slices("payments"),
        forward("payments"),
        forward("payments-preview"),
        # the automatic rollback: blue is the preview color now, and must be all ready
        slices("payments-preview"),
        apply(cluster),
        slices("payments"),
        forward("payments"),
        forward("payments-preview"),
    ]
    assert env_file(cluster).read_text() == before
    assert cluster.live_colors()["payments"] == "blue"
    assert [r.values["payments"].get("activeColor") for r in cluster.revisions[-2:]] == [
        "green",
        "",
    ]


def _block_of(text: str, needle: str) -> str:
    """The service key above the line containing ``needle``."""
    service = ""
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("    ") and line.strip().endswith(":"):
            service = line.strip().rstrip(":")
        if needle in line:
            return service
    raise AssertionError(f"{needle!r} not found")


def test_promoting_every_service_flips_the_one_global_value(cluster: FakeCluster):
    operator_sets(cluster, **{f"services__{name}__green__version": GOOD for name in SERVICES})
    before = env_file(cluster).read_text()
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        runbook.promote(
            backend, list(SERVICES), load_config(), console,
            skip_analysis=True, scale_down_delay=-1,
        )  # fmt: skip
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(2, 1, forwards=False),
        slices(*(f"{name}-preview" for name in SERVICES)),
        apply(cluster),
        slices(*SERVICES),
    ]
    assert changed_lines(before, env_file(cluster).read_text()) == [
        "-activeColor: blue",
        "+activeColor: green",
    ]
    assert set(cluster.live_colors().values()) == {"green"}


# -- a small idle color, and the old color scaled down after the promotion --------------------


def test_deploy_runs_the_idle_color_at_its_preview_size(cluster: FakeCluster):
    operator_sets(cluster, size__replicas="2")
    before = env_file(cluster).read_text()
    with backend_for(cluster, forward=False, credentials=UNUSED_CREDENTIALS) as backend:
        backend.deploy(["payments"], GOOD, {}, preview_replicas=1)
        # A preview size at or above the full size is the full size.
        backend.deploy(["orders"], GOOD, {}, preview_replicas=2)
    assert changed_lines(before, env_file(cluster).read_text()) == [
        '-    green: {version: "0.1.0", replicas: ""}',
        f'+    green: {{version: "{GOOD}", replicas: ""}}',
        '-    green: {version: "0.1.0", replicas: ""}',
        f'+    green: {{version: "{GOOD}", replicas: "1"}}',
    ]
    green = cluster.deployed().values["payments"]["green"]
    assert (green["replicas"], green["autoscaling"]["enabled"]) == (1, False)


def test_promote_scales_up_first_and_scales_the_old_color_down_after_the_delay(
    cluster: FakeCluster,
):
    operator_sets(cluster, size__replicas="2")
    operator_sets(cluster, services__payments__green__version=GOOD)
    operator_sets(cluster, services__payments__green__replicas="1")  # a preview-size deploy
    before = env_file(cluster).read_text()
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        timings = runbook.promote(
            backend, ["payments"], load_config(), console,
            skip_analysis=True, scale_down_delay=0.2, ready_timeout=30,
        )  # fmt: skip
    assert timings.scale_up_seconds is not None
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(4, 3, 2, 1, forwards=False),
        apply(cluster),  # green to full size (helm waits for it)
        rollout("payments-green"),
        *read_status(5, forwards=False),  # the release changed: read it again
        slices("payments-preview"),
        apply(cluster),  # the switch
        slices("payments"),
        *read_status(6, 5, 4, 3, 2, 1, forwards=False),  # after the delay: still promoted?
        apply(cluster),  # blue to zero
    ]
    assert changed_lines(before, env_file(cluster).read_text()) == [
        '-    activeColor: ""',
        '+    activeColor: "green"',
        '-    blue: {version: "0.1.0", replicas: ""}',
        f'-    green: {{version: "{GOOD}", replicas: "1"}}',
        '+    blue: {version: "0.1.0", replicas: "0"}',
        f'+    green: {{version: "{GOOD}", replicas: ""}}',
    ]
    assert cluster.deployed().values["payments"]["blue"]["replicas"] == 0

    # After the window: rollback scales blue up first, then switches; the history still
    # names blue as previous through the size-only revisions.
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        assert backend.status()["payments"].colors["blue"].running is False
        runbook.rollback(backend, ["payments"], console, ready_timeout=30)
    assert normalized(cluster.calls) == [
        *read_status(7, 6, 5, 4, 3, 2, 1, forwards=False),
        STATUS,
        *read_status(forwards=False),  # the values are read once per backend
        apply(cluster),  # blue back to full size
        rollout("payments-blue"),
        *read_status(8, forwards=False),
        slices("payments-preview"),
        apply(cluster),
        slices("payments"),
    ]
    assert cluster.live_colors()["payments"] == "blue"
    assert env_file(cluster).read_text().count('replicas: "0"') == 0


def test_the_scale_down_leaves_a_color_a_deploy_filled_during_the_wait(promoted: FakeCluster):
    cluster = promoted
    operator_sets(cluster, services__payments__blue__version="1.2.0")  # deployed into blue
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        assert backend.scale_down({"payments": "blue"}) == []
    assert not any(call[0] == "helmfile" for call in cluster.calls)
    assert cluster.deployed().values["payments"]["blue"]["replicas"] != 0


def test_rollback_to_a_revision_whose_live_color_is_scaled_down_scales_it_up_first(
    promoted: FakeCluster,
):
    """Revision 3 promoted payments green and 4 scaled blue down: `--to-revision 2` (blue live)
    must bring blue up before helm flips the selector onto it."""
    cluster = promoted
    operator_sets(cluster, services__payments__blue__replicas="0")  # revision 4
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        result = rollback_to_revision(backend, list(SERVICES), 2, console, ready_timeout=30)
    calls = normalized(cluster.calls)
    scale_up = calls.index(apply(cluster))
    assert calls.index(f"helm rollback platform 2 --wait {NS} --timeout=30s") > scale_up
    assert [r.description for r in cluster.revisions[-2:]] == ["Upgrade complete", "Rollback to 2"]
    assert result.live["payments"] == "blue"
    assert 'blue: {version: "0.1.0", replicas: ""}' in env_file(cluster).read_text()


def test_a_rollback_inside_the_window_keeps_the_old_color(promoted: FakeCluster):
    """The scale-down re-reads the release: a color that is live again stays up."""
    cluster = promoted
    with backend_for(cluster, forward=False) as backend:
        runbook.rollback(backend, ["payments"], console, ready_timeout=30)
        cluster.calls.clear()
        assert backend.scale_down({"payments": "blue"}) == []
    assert not any(call[0] == "helmfile" for call in cluster.calls)
    assert cluster.deployed().values["payments"]["blue"]["replicas"] != 0


# -- rollback: no traffic needed --------------------------------------------------------------


@pytest.fixture
def promoted(cluster: FakeCluster) -> FakeCluster:
    """Revision 2 deployed payments 1.1.0 into green, revision 3 promoted it."""
    operator_sets(cluster, services__payments__green__version=GOOD)
    operator_sets(cluster, services__payments__activeColor="green")
    cluster.calls.clear()
    return cluster


def test_rollback_flips_back_once(promoted: FakeCluster):
    cluster = promoted
    before = env_file(cluster).read_text()
    with backend_for(cluster, forward=False) as backend:
        runbook.rollback(backend, ["payments"], console, ready_timeout=30)
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(3, 2, 1, forwards=False),
        rollout("payments-blue"),
        slices("payments-preview"),
        apply(cluster),
        slices("payments"),
    ]
    assert changed_lines(before, env_file(cluster).read_text()) == [
        '-    activeColor: "green"',
        '+    activeColor: ""',
    ]
    assert cluster.live_colors()["payments"] == "blue"

    # The flip undid the promotion: a second rollback must not flip onto 1.1.0 again.
    cluster.calls.clear()
    with (
        backend_for(cluster, forward=False) as backend,
        pytest.raises(runbook.PreconditionError, match="nothing to roll back to"),
    ):
        runbook.rollback(backend, ["payments"], console, ready_timeout=30)
    assert not any(call[0] == "helmfile" for call in cluster.calls)


def test_abort_puts_the_idle_version_back_and_leaves_live_alone(cluster: FakeCluster):
    operator_sets(cluster, services__payments__green__version=GOOD)  # revision 2, not promoted
    cluster.calls.clear()
    before = env_file(cluster).read_text()
    with backend_for(cluster, forward=False) as backend:
        runbook.abort(backend, ["payments"], console)
    assert normalized(cluster.calls) == [
        STATUS,
        *read_status(2, 1, forwards=False),
        HISTORY,
        apply(cluster),
    ]
    # Old colors scale down after a promotion here (dev's scaleDownDelaySeconds): the
    # discarded one goes to zero as well.
    assert changed_lines(before, env_file(cluster).read_text()) == [
        f'-    green: {{version: "{GOOD}", replicas: ""}}',
        '+    green: {version: "0.1.0", replicas: "0"}',
    ]
    assert cluster.deployed().values["payments"]["green"]["image"]["tag"] == "0.1.0"
    assert cluster.live_colors()["payments"] == "blue"

    # The history now reads as if the deploy never happened: nothing is left to abort or ship.
    cluster.calls.clear()
    with backend_for(cluster, forward=False) as backend:
        with pytest.raises(runbook.PreconditionError, match="nothing to abort for payments"):
            runbook.abort(backend, ["payments"], console)
        with pytest.raises(runbook.PreconditionError, match="nothing to promote for payments"):
            runbook.promote(backend, ["payments"], load_config(None), console)
    assert not any(call[0] == "helmfile" for call in cluster.calls)


def test_rollback_to_an_explicit_revision(promoted: FakeCluster):
    cluster = promoted
    before = env_file(cluster).read_text()
    with backend_for(cluster, forward=False) as backend:
        result = rollback_to_revision(backend, list(SERVICES), 2, console, ready_timeout=30)
    assert normalized(cluster.calls) == [
        HISTORY,
        values(2),
        values(3),  # what runs now: does revision 2's live color need scaling up first?
        f"helm rollback platform 2 --wait {NS} --timeout=30s",
        *(rollout(f"{name}-blue") for name in SERVICES),
        slices(*SERVICES),
    ]
    assert (result.revision, result.replaced, result.live["payments"]) == (2, 3, "blue")
    assert changed_lines(before, env_file(cluster).read_text()) == [
        '-    activeColor: "green"',
        '+    activeColor: ""',
    ]
    latest = cluster.revisions[-1]
    assert (latest.number, latest.description) == (4, "Rollback to 2")
    assert not any(call[0] == "helmfile" for call in cluster.calls)


def test_rollback_to_revision_repairs_a_failed_upgrade(promoted: FakeCluster):
    # What helm 3+ leaves after a failed upgrade: no deployed revision at all.
    promoted.revisions[-1].status = "superseded"
    promoted.revisions.append(
        FakeRevision(4, promoted.revisions[-1].values, "failed", 'Upgrade "platform" failed')
    )
    with backend_for(promoted, forward=False) as backend:
        with pytest.raises(BackendError, match="is 'failed', not deployed"):
            backend.ensure_up()
        result = rollback_to_revision(backend, list(SERVICES), 3, console, ready_timeout=30)
    assert (result.revision, result.replaced) == (3, 4)
    latest = promoted.revisions[-1]
    assert (latest.number, latest.status, latest.description) == (5, "deployed", "Rollback to 3")


@pytest.mark.parametrize(
    ("services", "revision", "message"),
    [
        (list(SERVICES), 9, r"revision 9 is not in the history of platform \(1, 2, 3\)"),
        (list(SERVICES), 3, "revision 3 is the deployed revision already"),
        (["payments"], 2, "rolls back the whole release"),
    ],
)
def test_rollback_to_revision_refuses(
    promoted: FakeCluster, services: list[str], revision: int, message: str
):
    with (
        backend_for(promoted, forward=False) as backend,
        pytest.raises(runbook.PreconditionError, match=message),
    ):
        rollback_to_revision(backend, services, revision, console, ready_timeout=30)
    assert not any("rollback" in call for call in promoted.calls)


# -- status and guards ------------------------------------------------------------------------


def test_status_reads_release_history_and_live_selectors(promoted: FakeCluster):
    operator_sets(promoted, services__auth__green__version="2.0.0")  # deployed, not promoted
    promoted.calls.clear()
    with backend_for(promoted, forward=False) as backend:
        views = backend.status()
    assert normalized(promoted.calls) == read_status(4, 3, 2, 1, forwards=False)
    payments, auth = views["payments"], views["auth"]
    assert (payments.live, payments.previous, payments.colors["green"].version) == (
        "green", "blue", GOOD,
    )  # fmt: skip
    assert not payments.colors["blue"].pending
    assert (auth.live, auth.previous, auth.colors["green"].pending) == ("blue", None, True)
    assert (auth.colors["green"].ready, auth.colors["green"].instances) == (2, 2)
    assert payments.live_url == "http://payments.platform-dev.svc.cluster.local"
    assert payments.preview_url == "http://payments-preview.platform-dev.svc.cluster.local"


def test_no_deploy_into_a_canary_taking_live_traffic(promoted: FakeCluster):
    """A canary step left in place (an interrupted `canary`): the idle color serves live
    traffic, so a deploy into it would ship to users unanalysed."""
    operator_sets(promoted, services__orders__canaryWeight="10")
    promoted.calls.clear()
    before = env_file(promoted).read_text()
    with (
        backend_for(promoted, forward=False, credentials=UNUSED_CREDENTIALS) as backend,
        pytest.raises(runbook.PreconditionError, match="a canary step is under way for orders"),
    ):
        runbook.deploy(backend, ["orders"], "3.0.0", {}, console, ready_timeout=30)
    assert not any(call[0] == "helmfile" for call in promoted.calls)
    assert env_file(promoted).read_text() == before


def test_idle_color_not_ready_blocks_the_switch(promoted: FakeCluster):
    operator_sets(promoted, services__orders__green__version="3.0.0")
    promoted.not_ready.add(("orders", "green"))
    promoted.calls.clear()
    before = env_file(promoted).read_text()
    with backend_for(promoted, forward=False) as backend:
        views = backend.status()
        assert views["orders"].colors["green"].ready == 0
        with pytest.raises(BackendError, match="preview Service has not ready"):
            backend.switch({"orders": "green"}, rollback=False)
    assert not any(call[0] == "helmfile" for call in promoted.calls)
    assert env_file(promoted).read_text() == before


def test_a_failed_apply_restores_the_file_and_says_what_the_pods_report(promoted: FakeCluster):
    before = env_file(promoted).read_text()
    promoted.fail_applies = 1
    promoted.crashing.add(("orders", "green"))
    with backend_for(promoted, forward=False, credentials=UNUSED_CREDENTIALS) as backend:
        backend.status()
        with pytest.raises(
            BackendError,
            match=r"deploy failed.*CrashLoopBackOff, last exit 3 \(Error\), 4 restarts.*"
            r"Restored dev\.yaml and re-applied",
        ):
            backend.deploy(["orders"], "4.0.0", {})
    assert env_file(promoted).read_text() == before
    assert [call[0] for call in promoted.calls].count("helmfile") == 2


def test_a_deploy_whose_new_pods_crash_stops_waiting_and_restores(promoted: FakeCluster):
    # No failing apply: helm would wait out its timeout; the crash loop ends the wait instead.
    before = env_file(promoted).read_text()
    promoted.crashing.add(("orders", "green"))
    with backend_for(promoted, forward=False, credentials=UNUSED_CREDENTIALS) as backend:
        backend.status()
        with pytest.raises(
            BackendError,
            match=r"deploy failed: stopped waiting for `helmfile .* apply.*`: a new pod will "
            r"never become ready \(the new pods: orders-green-\S+ CrashLoopBackOff, last exit 3 "
            r"\(Error\), 4 restarts.*Restored dev\.yaml and re-applied",
        ):
            backend.deploy(["orders"], "4.0.0", {})
    assert env_file(promoted).read_text() == before
    helmfile = [call for call in promoted.calls if call[0] == "helmfile"]
    assert len(helmfile) == 2 and promoted.interrupted == helmfile[:1]
    assert [r.status for r in promoted.revisions[-3:]] == ["superseded", "failed", "deployed"]


def test_unreachable_prometheus_refuses_before_switching(promoted: FakeCluster):
    operator_sets(promoted, services__orders__green__version="3.0.0")
    promoted.unreachable.add("platform-prometheus-server")
    before = env_file(promoted).read_text()
    promoted.calls.clear()
    with (
        backend_for(promoted, forward=True, credentials=UNUSED_CREDENTIALS) as backend,
        pytest.raises(BackendError, match=r"svc/platform-prometheus-server .*pod is not running"),
    ):
        runbook.promote(backend, ["orders"], load_config(), console)
    assert normalized(promoted.calls)[-2:] == [forward("platform-prometheus-server")] * 2
    assert not any(call[0] == "helmfile" for call in promoted.calls)
    assert env_file(promoted).read_text() == before


def test_a_size_edited_and_not_applied_is_drift(promoted: FakeCluster):
    EnvironmentFile(env_file(promoted)).set({("services", "payments", "blue", "replicas"): "0"})
    with (
        backend_for(promoted, forward=False) as backend,
        pytest.raises(BackendError, match=r'payments blue replicas "0" \(cluster: ""\)'),
    ):
        runbook.rollback(backend, ["payments"], console, ready_timeout=30)
    assert not any(call[0] == "helmfile" for call in promoted.calls)


def test_drift_between_file_and_cluster_is_refused(promoted: FakeCluster):
    EnvironmentFile(env_file(promoted)).set({("activeColor",): "green"})  # edited, not applied
    with backend_for(promoted, forward=False, credentials=UNUSED_CREDENTIALS) as backend:
        backend.status()
        with pytest.raises(
            BackendError, match=r"dev\.yaml differs from the cluster: auth live green"
        ):
            backend.deploy(["orders"], "4.0.0", {})
    assert not any(call[0] == "helmfile" for call in promoted.calls)
