"""The few Prometheus HTTP API calls the review needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import promql_parser
import yaml

DEFAULT_SCRAPE_INTERVAL = timedelta(seconds=15)


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    times: tuple[datetime, ...]
    values: tuple[float, ...]

    @property
    def has_values(self) -> bool:
        return any(not math.isnan(v) for v in self.values)


class QueryError(RuntimeError):
    """Prometheus rejected a query (bad syntax, unknown function...)."""


class PrometheusClient:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def query_range(
        self, expr: str, start: datetime, end: datetime, step: timedelta
    ) -> list[Series]:
        data = self._get(
            "/api/v1/query_range",
            {
                "query": expr,
                "start": start.timestamp(),
                "end": end.timestamp(),
                "step": step.total_seconds(),
            },
        )
        return [_series(item["metric"], item["values"]) for item in data["result"]]

    def query(self, expr: str, at: datetime) -> list[Series]:
        data = self._get("/api/v1/query", {"query": expr, "time": at.timestamp()})
        if data["resultType"] != "vector":
            raise QueryError(f"expected an instant vector, got {data['resultType']}: {expr}")
        return [_series(item["metric"], [item["value"]]) for item in data["result"]]

    def scrape_interval(self) -> timedelta:
        """The global scrape interval from the running config (Grafana uses it the same way)."""
        config = yaml.safe_load(self._get("/api/v1/status/config", {})["yaml"]) or {}
        value = (config.get("global") or {}).get("scrape_interval")
        return promql_parser.parse_duration(value) if value else DEFAULT_SCRAPE_INTERVAL

    def _get(self, path: str, params: dict[str, object]) -> dict:
        response = self._http.get(path, params=params)
        body = response.json()
        if body.get("status") != "success":
            error = f"{body.get('errorType')}: {body.get('error')}"
            raise QueryError(f"{error} ({params.get('query')})")
        return body["data"]


def _series(labels: dict[str, str], points: list[list]) -> Series:
    return Series(
        labels=dict(labels),
        times=tuple(datetime.fromtimestamp(float(t)).astimezone() for t, _ in points),
        values=tuple(float(v) for _, v in points),
    )
