"""The API's Prometheus metrics: requests by route template and status, latency, webhook posts pending."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from core.settings import ApiSettings, Settings
from tests.api.conftest import World


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_requests_are_counted_by_route_and_status_without_a_bin_or_tenant_in_the_labels(world: World) -> None:
    viewer = world.auth("kalmar", "viewer")
    bins = [b["id"] for b in world.client.get("/v1/bins", headers=viewer).json()["items"][:3]]
    for bin_id in bins:
        assert world.client.get(f"/v1/bins/{bin_id}", headers=viewer).status_code == 200
    assert world.client.get("/v1/bins/no-such-bin", headers=viewer).status_code == 404
    assert world.client.get("/v1/bins").status_code == 401
    text = world.client.get("/metrics").text
    seen = _samples(text)
    route = (("method", "GET"), ("route", "/v1/bins/{bin_id}"))
    assert seen["tomning_api_requests_total", (*route, ("status", "200"))] == 3
    assert seen["tomning_api_requests_total", (*route, ("status", "404"))] == 1
    unsigned = (("method", "GET"), ("route", "/v1/bins"), ("status", "401"))
    assert seen["tomning_api_requests_total", unsigned] == 1
    assert seen["tomning_api_request_seconds_count", route] == 4
    assert seen["tomning_webhook_posts_pending", ()] == 0
    assert "kalmar" not in text  # no tenant, no bin: one series per route, not per bin
    assert not any(b in text for b in bins)


def test_metrics_ask_for_the_token_when_one_is_set(world: World) -> None:
    world.services.settings = Settings(api=ApiSettings(metrics_token=SecretStr("scrape-me")))
    refused = world.client.get("/metrics")
    assert refused.status_code == 401
    assert "TOMNING_API__METRICS_TOKEN" in refused.text
    assert world.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = world.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    assert "tomning_api_requests_total" in scraped.text
