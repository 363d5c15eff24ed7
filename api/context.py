"""What the routes work with: the registry, the time-series store, settings, a clock, hooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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
    # failed sign-ins per (tenant, username), when: guessing a password gets a pause, not a token
    _failures: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)

    def sign_in_pause(self, tenant: str, username: str) -> float:
        """Seconds until `username` may try again (0: now): `sign_in_failures` wrong passwords within
        `sign_in_window_s` make it wait until the oldest of them is that old."""
        api, now = self.settings.api, self.clock()
        window = timedelta(seconds=api.sign_in_window_s)
        recent = [at for at in self._failures.get((tenant, username), []) if now - at < window]
        self._failures[tenant, username] = recent
        if len(recent) < api.sign_in_failures:
            return 0.0
        return (recent[-api.sign_in_failures] + window - now).total_seconds()

    def signed_in(self, tenant: str, username: str, *, ok: bool) -> None:
        """A sign-in's outcome: a success forgets the user's failures, a failure counts."""
        if ok:
            self._failures.pop((tenant, username), None)
            return
        if len(self._failures) > 100_000:  # a flood of made-up names: forget, rather than grow
            self._failures.clear()
        self._failures.setdefault((tenant, username), []).append(self.clock())

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
