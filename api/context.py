"""What the routes work with: the registry, the time-series store, settings, a clock, hooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request

from core.models import ApiKey
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
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)

    _keys: dict[str, tuple[float, tuple[ApiKey, str] | None]] = field(default_factory=dict)

    def sign_in_pause(self, tenant: str, username: str) -> float:
        """Seconds until `username` may try again (0: check this attempt now, and it counts): after
        `sign_in_failures` attempts within `sign_in_window_s`, until the oldest of them is that old. Kept
        in the registry, so API processes behind a balancer count together."""
        api = self.settings.api
        return self.registry.reserve_sign_in(
            tenant, username, now=self.clock(), window_s=api.sign_in_window_s, limit=api.sign_in_failures
        )

    def signed_in(self, tenant: str, username: str, *, ok: bool) -> None:
        """A sign-in's outcome: a success forgets the attempts before it; a failure stays counted."""
        if ok:
            self.registry.forget_sign_ins(tenant, username)

    def known_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """A key and its hash, read at most `key_cache_s` ago: a revocation elsewhere waits that long."""
        now = time.monotonic()
        hit = self._keys.get(key_id)
        if hit is not None and now - hit[0] < self.settings.api.key_cache_s:
            return hit[1]
        found = self.registry.key(key_id)
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[key_id] = (now, found)
        return found

    def forget_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def lock(self, name: tuple[str, str]) -> threading.Lock:
        """One lock per cached answer: who rebuilds it."""
        return self._locks.setdefault(name, threading.Lock())


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
