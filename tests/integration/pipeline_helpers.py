"""Helpers for pipeline tests: a seeded registry, an ingest service, readings to publish."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core import places, topics
from core.models import Tenant
from core.registry import Registry
from core.settings import IngestSettings, MqttSettings
from core.timeseries import TimeSeriesStore
from ingest.service import IngestService

TENANT = "kalmar"


def seed_kalmar(registry: Registry, *, stations: int = 30) -> list[str]:
    """Kalmar's real stations, four sensored containers each; returns the device ids."""
    pairs = places.fleet(TENANT, places.stations()[:stations])
    since = datetime.now(UTC) - timedelta(days=365)
    places.seed(registry, Tenant(id=TENANT, name="Kalmar kommun"), pairs, since=since)
    return [device.id for _, device in pairs]


def reading(
    seq: int, *, ts: datetime | None = None, distance_mm: int = 1000, **extra: object
) -> dict[str, object]:
    stamp = ts or datetime.now(UTC) - timedelta(seconds=seq)
    return {"ts": stamp.isoformat(), "seq": seq, "distance_mm": distance_mm, **extra}


def payload(document: object) -> bytes:
    return json.dumps(document).encode()


def uplink(device_id: str) -> str:
    return topics.uplink(TENANT, device_id)


@contextmanager
def running_ingest(
    broker_port: int, registry: Registry, store: TimeSeriesStore, spool_dir: Path, *,
    mqtt: MqttSettings | None = None, **overrides: object,
) -> Iterator[IngestService]:  # fmt: skip
    defaults: dict[str, object] = {"client_id": f"ingest-{spool_dir.name}", "batch_max_wait_s": 0.05,
                                   "retry_interval_s": 0.2}  # fmt: skip
    settings = IngestSettings(
        spool_dir=spool_dir, health_port=0, **(defaults | overrides),  # type: ignore[arg-type]
    )  # fmt: skip
    service = IngestService(
        mqtt=mqtt or MqttSettings(host="127.0.0.1", port=broker_port),
        settings=settings,
        registry=registry,
        store=store,
    )
    service.start()
    assert service.consumer.connected.wait(10), "ingest did not connect to the broker"
    try:
        yield service
    finally:
        service.stop()


def eventually(check: Callable[[], bool], *, timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached in {timeout_s} s")
