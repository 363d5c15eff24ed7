"""Durable hand-off of readings and events: to the store, else to the spool, replayed in order."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from core.errors import InvalidInput, StoreUnavailable
from core.models import Event, Reading
from core.timeseries import TimeSeriesStore
from ingest.spool import Spool

log = logging.getLogger(__name__)


class Batch(NamedTuple):
    readings: list[Reading]
    events: list[Event]

    def encode(self) -> bytes:
        return json.dumps(
            {
                "readings": [r.model_dump(mode="json") for r in self.readings],
                "events": [e.model_dump(mode="json") for e in self.events],
            }
        ).encode()

    def halves(self) -> tuple[Batch, Batch]:
        points: list[Reading | Event] = [*self.readings, *self.events]
        a, b = points[: len(points) // 2], points[len(points) // 2 :]
        return Batch(*_split(a)), Batch(*_split(b))

    @classmethod
    def decode(cls, body: bytes) -> Batch:
        document = json.loads(body)
        return cls(
            [Reading.model_validate(r) for r in document["readings"]],
            [Event.model_validate(e) for e in document["events"]],
        )


def _split(points: list[Reading | Event]) -> tuple[list[Reading], list[Event]]:
    return [p for p in points if isinstance(p, Reading)], [p for p in points if isinstance(p, Event)]


class Sink:
    """`put` returns once the batch is in the store or the spool; it raises SpoolFull otherwise.

    Points the store itself refuses (InvalidInput) go to `reject`, one at a time, which dead-letters them.
    """

    def __init__(self, *, store: TimeSeriesStore, spool: Spool, reject: Callable[[Batch, str], None]) -> None:
        self.store, self.spool, self.reject = store, spool, reject
        self.store_ok = True

    def put(self, readings: Sequence[Reading], events: Sequence[Event]) -> str:
        """Where the batch went: 'store', 'spool' or 'rejected'."""
        batch = Batch(list(readings), list(events))
        if not batch.readings and not batch.events:
            return "store"
        if self.spool.batches and not self.drain():
            self.spool.append(batch.encode())  # keep order behind what waits already
            return "spool"
        try:
            rejected = self._write_isolating(batch)
        except StoreUnavailable as exc:
            self._down(exc)
            self.spool.append(batch.encode())
            return "spool"
        return "rejected" if rejected == len(batch.readings) + len(batch.events) else "store"

    def _write_isolating(self, batch: Batch) -> int:
        """Write the batch; points the store refuses are found by halving and rejected alone, so one bad
        point keeps no other (another tenant's readings among them) out of the store. How many refused."""
        try:
            self._write(batch)
        except InvalidInput as exc:
            if len(batch.readings) + len(batch.events) <= 1:
                self.reject(batch, str(exc))
                return 1
            return sum(self._write_isolating(half) for half in batch.halves())
        return 0

    def _write(self, batch: Batch) -> None:
        self.store.write(batch.readings, batch.events)
        if not self.store_ok:
            log.warning("store is back")
        self.store_ok = True

    def _down(self, exc: Exception) -> None:
        if self.store_ok:
            log.error("store unavailable, spooling: %s", exc)
        self.store_ok = False

    def drain(self, limit: int = 50) -> bool:
        """Replay up to `limit` spooled batches in order; True when the spool is empty."""
        for _ in range(limit):
            oldest = self.spool.oldest()
            if oldest is None:
                return True
            batch_id, body = oldest
            try:
                self._write_isolating(Batch.decode(body))
            except StoreUnavailable as exc:
                self._down(exc)
                return False
            self.spool.remove(batch_id)
        return self.spool.batches == 0
