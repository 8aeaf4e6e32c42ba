"""What the cluster says about traffic: Service selectors and EndpointSlices, from kubectl JSON.

A Deployment ``<svc>-<color>`` names its pods ``<svc>-<color>-<replicaset hash>-<suffix>``, and
each endpoint of an EndpointSlice names its pod (``targetRef``), so an endpoint's color is
known without a further lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from platformctl.catalog import COLORS

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Endpoint:
    pod: str
    ready: bool


def preview_service(service: str) -> str:
    return f"{service}-preview"


def deployment(service: str, color: str) -> str:
    return f"{service}-{color}"


# On a live Service that selects both colors (a canary step): which one is the stable color.
STABLE_COLOR_ANNOTATION = "platform/stable-color"


def selected_colors(services_json: Mapping[str, Any]) -> dict[str, str]:
    """Service name -> the color its selector picks, or during a canary step the stable color
    (Services with neither are left out)."""
    colors = {}
    for item in services_json.get("items", []):
        metadata = item["metadata"]
        color = ((item.get("spec") or {}).get("selector") or {}).get("color") or (
            metadata.get("annotations") or {}
        ).get(STABLE_COLOR_ANNOTATION)
        if color:
            colors[metadata["name"]] = color
    return colors


def endpoints(slices_json: Mapping[str, Any]) -> dict[str, list[Endpoint]]:
    """Service name -> its endpoints, over all of its EndpointSlices."""
    by_service: dict[str, list[Endpoint]] = {}
    for item in slices_json.get("items", []):
        service = item["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL)
        if not service:
            continue
        found = by_service.setdefault(service, [])
        for endpoint in item.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            # A terminating pod (the color's previous pods, for a while after a rollout) is on
            # its way out and gets no new traffic while ready pods exist: not part of the color.
            if conditions.get("terminating") is True:
                continue
            # The API: an unset `ready` means ready.
            ready = conditions.get("ready") is not False
            pod = (endpoint.get("targetRef") or {}).get("name", "")
            found.append(Endpoint(pod, ready))
    return by_service


def pod_color(service: str, pod: str) -> str | None:
    for color in COLORS:
        if pod.startswith(f"{deployment(service, color)}-"):
            return color
    return None


def serving_problem(service: str, color: str, found: Iterable[Endpoint]) -> str | None:
    """Why ``found`` is not "only ``color``'s pods, all ready"; None when it is."""
    found = list(found)
    if not found:
        return "no endpoints"
    others = sorted(e.pod for e in found if pod_color(service, e.pod) != color)
    if others:
        return f"endpoints of other pods: {', '.join(others)}"
    not_ready = sorted(e.pod for e in found if not e.ready)
    if not_ready:
        return f"not ready: {', '.join(not_ready)}"
    return None


def pod_problem(pod: Mapping[str, Any]) -> str | None:
    """Why a pod is not serving, from its status (None when nothing is wrong): a condition that
    keeps it from being scheduled, or a container (init containers first) waiting or restarting."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return f"not scheduled: {condition.get('reason')}: {condition.get('message', '')}"
    for container in _container_statuses(status):
        if container.get("ready"):
            continue
        waiting = (container.get("state") or {}).get("waiting") or {}
        last = (container.get("lastState") or {}).get("terminated") or {}
        if not waiting.get("reason") and not last:
            continue
        detail = [waiting.get("reason") or "restarting"]
        if last:
            detail.append(f"last exit {last.get('exitCode')} ({last.get('reason', 'Error')})")
        detail.append(f"{container.get('restartCount', 0)} restarts")
        return ", ".join(detail)
    return None


def runs_version(pod: Mapping[str, Any], version: str) -> bool:
    """Whether one of the pod's containers runs the image tag ``version``."""
    containers = (pod.get("spec") or {}).get("containers") or []
    # repository:tag, with @digest after it where the values pin one
    tags = [str(c.get("image", "")).split("@", 1)[0] for c in containers]
    return any(tag.endswith(f":{version}") for tag in tags)


# Waiting reasons no amount of waiting gets a rollout past: the image cannot be had, or the
# container cannot be made from it. (ErrImagePull alone is a first attempt; the backoff follows.)
HOPELESS_WAITING = frozenset(
    {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"}
)
# A new pod that has crashed this often in a row will not become ready by itself.
CRASHES_BEFORE_GIVING_UP = 2


def pod_failure(pod: Mapping[str, Any]) -> str | None:
    """Why a pod will never become ready without a new release (None while it still may): what
    lets a deploy stop waiting at once instead of at helm's timeout."""
    for container in _container_statuses(pod.get("status") or {}):
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        # In CrashLoopBackOff after crash k, the container has been restarted k - 1 times.
        crashes = container.get("restartCount", 0) + 1
        if reason in HOPELESS_WAITING or (
            reason == "CrashLoopBackOff" and crashes >= CRASHES_BEFORE_GIVING_UP
        ):
            return pod_problem(pod)
    return None


def _container_statuses(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Init containers first: a pod stuck there never starts the others."""
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
