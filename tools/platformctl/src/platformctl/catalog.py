"""The services platformctl runs, and the settings it passes them, derived from their code.

Environment variable names come from each service's settings class (``Settings.env_names()``),
never copied, so renaming a setting in a service cannot silently break the runtime.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError
from servicekit.settings import ServiceSettings

SERVICES: tuple[str, ...] = ("auth", "orders", "payments", "notifications")
COLORS: tuple[str, ...] = ("blue", "green")
INITIAL_VERSION = "1.0.0"
# A version is an image tag on Kubernetes and a label locally; both accept only what the OCI
# distribution spec's tag grammar does (so never "../../x"). Use with fullmatch.
IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

# Contract ports (docs/contract.md): stable ports route to the live color, preview to the idle.
DEFAULT_STABLE_PORTS = {"auth": 8001, "orders": 8002, "payments": 8003, "notifications": 8004}
DEFAULT_PREVIEW_PORTS = {"auth": 9001, "orders": 9002, "payments": 9003, "notifications": 9004}

_SETTINGS_CLASSES = {
    "auth": "auth_service.core.config:AuthSettings",
    "orders": "orders_service.core.config:OrdersSettings",
    "payments": "payments_service.core.config:PaymentsSettings",
    "notifications": "notifications_service.core.config:NotificationsSettings",
}

FAULT_PREFIX = "fault_"


class UnknownServiceError(ValueError):
    pass


class FaultSpecError(ValueError):
    pass


def other_color(color: str) -> str:
    return "green" if color == "blue" else "blue"


def resolve_services(target: str) -> list[str]:
    """``all`` or one service name, in the platform's dependency order."""
    if target == "all":
        return list(SERVICES)
    if target not in SERVICES:
        raise UnknownServiceError(
            f"unknown service {target!r}; choose one of: all, {', '.join(SERVICES)}"
        )
    return [target]


@cache
def settings_class(service: str) -> type[ServiceSettings]:
    module_name, _, class_name = _SETTINGS_CLASSES[service].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def app_factory(service: str) -> str:
    return f"{service}_service.main:create_app"


def env_name(service: str, field: str) -> str:
    return settings_class(service).env_names()[field]


@dataclass(frozen=True)
class FaultField:
    name: str  # the CLI key: error_rate, latency_ms, ...
    field: str  # the settings field: fault_error_rate, ...
    annotation: Any


def fault_fields() -> dict[str, FaultField]:
    """The fault switches every service shares (``SERVICE_FAULT_*``), keyed by CLI name."""
    fields = ServiceSettings.model_fields
    return {
        name.removeprefix(FAULT_PREFIX): FaultField(
            name.removeprefix(FAULT_PREFIX), name, fields[name].annotation
        )
        for name in fields
        if name.startswith(FAULT_PREFIX)
    }


def parse_faults(spec: str | None) -> dict[str, str]:
    """``error_rate=0.3,latency_ms=200`` -> validated {cli name: value} (values kept as text)."""
    if not spec:
        return {}
    known = fault_fields()
    faults: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = (piece.strip() for piece in part.partition("="))
        if not sep or not key or not value:
            raise FaultSpecError(f"bad fault {part.strip()!r}; expected key=value")
        if key not in known:
            raise FaultSpecError(f"unknown fault {key!r}; known faults: {', '.join(sorted(known))}")
        faults[key] = value
    # Let the settings class judge the values (ranges, types), as the service itself would.
    try:
        ServiceSettings.model_validate({known[key].field: value for key, value in faults.items()})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]).removeprefix(FAULT_PREFIX) if first["loc"] else "?"
        raise FaultSpecError(f"bad value for fault {field!r}: {first['msg']}") from None
    return faults


def fault_env(service: str, faults: Mapping[str, str]) -> dict[str, str]:
    """The environment variables that switch the given faults on for one service."""
    known = fault_fields()
    return {env_name(service, known[key].field): value for key, value in faults.items()}
