"""Prometheus metrics of the API process at `/metrics`: requests by route and status, their latency, and
the webhook posts still to make. Labels name routes as declared (`/v1/bins/{bin_id}`), never a tenant."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.context import Services

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)  # a plan takes 10 s and more


class _Outbox(Collector):
    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "tomning_webhook_posts_pending", "Webhook posts still to make, every tenant's"
        )
        pending.add_metric([], self.services.registry.pending_posts())
        yield pending


def install(app: FastAPI, services: Services) -> CollectorRegistry:
    """Count every request (by its route's template: a bin id would make a series per bin) and serve
    `/metrics`, behind `TOMNING_API__METRICS_TOKEN` when that is set."""
    registry = CollectorRegistry()
    requests = Counter(
        "tomning_api_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
    )
    seconds = Histogram(
        "tomning_api_request_seconds",
        "Time to answer",
        ["method", "route"],
        buckets=BUCKETS,
        registry=registry,
    )
    registry.register(_Outbox(services))

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests.labels(request.method, route, str(response.status_code)).inc()
        seconds.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        token = services.settings.api.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
                return Response("a bearer token is needed (TOMNING_API__METRICS_TOKEN)\n", status_code=401,
                                headers={"WWW-Authenticate": "Bearer"}, media_type="text/plain")  # fmt: skip
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
