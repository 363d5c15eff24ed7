"""What the routes work with: the registry, the time-series store, settings, a clock, hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request

from core.registry import Registry
from core.settings import Settings
from core.timeseries import TimeSeriesStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    registry: Registry
    store: TimeSeriesStore
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    # told of each bin a driver reports collected (tenant, bin, when): the runtime publishes it on MQTT
    on_collected: list[Callable[[str, str, datetime], None]] = field(default_factory=list)
    # heavy answers by what they were built from, e.g. ("state", tenant): (revision, ETag, body)
    cache: dict[tuple[str, str], tuple[int, str, bytes]] = field(default_factory=dict)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
