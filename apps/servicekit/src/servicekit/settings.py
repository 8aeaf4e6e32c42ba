"""Settings shared by every service, read from the environment and a secrets directory.

Platform-wide settings use the ``SERVICE_`` prefix (``SERVICE_COLOR``, ``SERVICE_VERSION``...),
so the chart and the local runtime set them the same way for every service. A service's own
settings use its own prefix (``AUTH_``, ``ORDERS_``...). Secrets are ``SecretStr`` and can come
from files named after the variable in ``SERVICE_SECRETS_DIR`` (``/run/secrets`` by default).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.retry_budget import DEFAULT_MIN_PER_SECOND, DEFAULT_RATIO

DEFAULT_SECRETS_DIR = "/run/secrets"


class Color(StrEnum):
    blue = "blue"
    green = "green"


class Environment(StrEnum):
    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


class ConfigurationError(Exception):
    """A setting is missing or unsafe; the message names the variable."""


def platform_field(default: Any, env: str, **kwargs: Any) -> Any:
    """A setting every service shares, read from ``SERVICE_<NAME>`` whatever the prefix."""
    return Field(default, validation_alias=env, **kwargs)


def required_in_production(default: Any = None, **kwargs: Any) -> Any:
    """A setting that may be empty in development but must be set in production."""
    return Field(default, json_schema_extra={"required_in_production": True}, **kwargs)


def dependency_url(service: str, default: str) -> Any:
    """The base URL of a service this one calls; the chart derives NetworkPolicies from these."""
    return Field(default, json_schema_extra={"dependency": service})


class ServiceSettings(BaseSettings):
    """Base class: subclasses set ``service_name`` and ``model_config`` with their env prefix."""

    service_name: ClassVar[str] = "service"
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    version: str = platform_field("0.0.0-dev", "SERVICE_VERSION")
    color: Color = platform_field(Color.blue, "SERVICE_COLOR")
    environment: Environment = platform_field(Environment.development, "SERVICE_ENVIRONMENT")
    log_level: str = platform_field("info", "SERVICE_LOG_LEVEL")

    # Security: tokens are verified against auth's JWKS.
    auth_url: str = Field(
        "http://127.0.0.1:8001",
        validation_alias="SERVICE_AUTH_URL",
        json_schema_extra={"dependency": "auth"},
    )
    jwt_issuer: str = platform_field("platform-auth", "SERVICE_JWT_ISSUER")
    jwt_leeway_seconds: int = platform_field(10, "SERVICE_JWT_LEEWAY_SECONDS", ge=0, le=120)
    # Verified tokens kept, so a client's repeated token skips the signature check (0: none).
    jwt_cache_entries: int = platform_field(4096, "SERVICE_JWT_CACHE_ENTRIES", ge=0, le=1_000_000)
    jwks_refresh_interval_seconds: float = platform_field(
        30.0, "SERVICE_JWKS_REFRESH_INTERVAL_SECONDS", gt=0
    )

    # Outbound calls: per-attempt timeouts and a total budget for retries.
    http_connect_timeout_seconds: float = platform_field(
        0.5, "SERVICE_HTTP_CONNECT_TIMEOUT_SECONDS", gt=0
    )
    http_read_timeout_seconds: float = platform_field(
        1.0, "SERVICE_HTTP_READ_TIMEOUT_SECONDS", gt=0
    )
    http_retry_attempts: int = platform_field(3, "SERVICE_HTTP_RETRY_ATTEMPTS", ge=1, le=10)
    http_retry_budget_seconds: float = platform_field(
        2.5, "SERVICE_HTTP_RETRY_BUDGET_SECONDS", gt=0
    )
    # Retries per dependency: at most this share of recent calls, plus a floor per second.
    http_retry_ratio: float = platform_field(DEFAULT_RATIO, "SERVICE_HTTP_RETRY_RATIO", ge=0, le=1)
    http_retry_min_per_second: float = platform_field(
        DEFAULT_MIN_PER_SECOND, "SERVICE_HTTP_RETRY_MIN_PER_SECOND", ge=0
    )

    # Shutdown: readiness turns 503 at once; the process keeps serving for the delay, then
    # uvicorn drains in-flight requests for up to the drain timeout.
    shutdown_delay_seconds: float = platform_field(0.0, "SERVICE_SHUTDOWN_DELAY_SECONDS", ge=0)
    drain_timeout_seconds: float = platform_field(10.0, "SERVICE_DRAIN_TIMEOUT_SECONDS", gt=0)

    # Request limits.
    max_body_bytes: int = platform_field(64 * 1024, "SERVICE_MAX_BODY_BYTES", gt=0)
    # Requests in progress per process beyond which more get 503 at once (0: no limit).
    max_in_flight: int = platform_field(64, "SERVICE_MAX_IN_FLIGHT", ge=0, le=100_000)

    # Fault injection, to rehearse a bad release. Off by default.
    fault_error_rate: float = platform_field(0.0, "SERVICE_FAULT_ERROR_RATE", ge=0, le=1)
    fault_latency_ms: int = platform_field(0, "SERVICE_FAULT_LATENCY_MS", ge=0, le=60_000)
    fault_startup_fail: bool = platform_field(False, "SERVICE_FAULT_STARTUP_FAIL")
    fault_after_seconds: float = platform_field(0.0, "SERVICE_FAULT_AFTER_SECONDS", ge=0)

    @property
    def request_faults_enabled(self) -> bool:
        return bool(self.fault_error_rate or self.fault_latency_ms)

    @property
    def faults_enabled(self) -> bool:
        return self.request_faults_enabled or self.fault_startup_fail

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.environment is not Environment.production:
            return self
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra
            if isinstance(extra, dict) and extra.get("required_in_production"):
                value = getattr(self, name)
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                if not value:
                    raise ConfigurationError(
                        f"{env_name(type(self), name)} is required when "
                        "SERVICE_ENVIRONMENT=production"
                    )
        if self.faults_enabled:
            raise ConfigurationError(
                "SERVICE_FAULT_* must be off when SERVICE_ENVIRONMENT=production"
            )
        return self

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Map each field to the environment variable that sets it."""
        return {name: env_name(cls, name) for name in cls.model_fields}

    @classmethod
    def dependencies(cls) -> dict[str, str]:
        """Services this one calls, mapped to the env variable holding their URL."""
        deps = {}
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra
            if isinstance(extra, dict) and extra.get("dependency") not in (None, cls.service_name):
                deps[str(extra["dependency"])] = env_name(cls, name)
        return deps


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def env_name(cls: type[BaseSettings], field_name: str) -> str:
    field = cls.model_fields[field_name]
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"{cls.model_config.get('env_prefix', '')}{field_name}".upper()


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Read settings, turning any problem into one ``ConfigurationError`` line."""
    secrets_dir = os.environ.get("SERVICE_SECRETS_DIR", DEFAULT_SECRETS_DIR)
    kwargs: dict[str, Any] = dict(overrides)
    if Path(secrets_dir).is_dir():
        kwargs["_secrets_dir"] = secrets_dir
    try:
        return cls(**kwargs)
    except ConfigurationError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = str(first["loc"][0]) if first["loc"] else ""
        names = cls.env_names()
        variable = names.get(field_name, field_name.upper())
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConfigurationError):
            raise ConfigurationError(str(cause)) from None
        raise ConfigurationError(f"{variable}: {first['msg']}") from None
