"""A minimal Prometheus HTTP API client: one instant query, one number or no data."""

from __future__ import annotations

import math

import httpx


class PrometheusError(RuntimeError):
    pass


class PrometheusClient:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def scalar(self, client: httpx.AsyncClient, promql: str) -> float | None:
        """The value of a query that yields one sample; ``None`` when there is no data."""
        try:
            response = await client.get(
                f"{self.base_url}/api/v1/query", params={"query": promql}, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.base_url} is unreachable: {exc}") from exc
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"Prometheus rejected the query: {body.get('error', body)}")
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            values = [result[1]]
        else:
            values = [sample["value"][1] for sample in result]
        if not values:
            return None
        if len(values) > 1:
            raise PrometheusError(f"query returned {len(values)} series, expected one: {promql}")
        value = float(values[0])
        return None if math.isnan(value) or math.isinf(value) else value
