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

    @classmethod
    def decode(cls, body: bytes) -> Batch:
        document = json.loads(body)
        return cls(
            [Reading.model_validate(r) for r in document["readings"]],
            [Event.model_validate(e) for e in document["events"]],
        )


class Sink:
    """`put` returns once the batch is in the store or the spool; it raises SpoolFull otherwise.

    Points the store itself refuses (InvalidInput) go to `reject`, which dead-letters them.
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
            self._write(batch)
        except StoreUnavailable as exc:
            self._down(exc)
            self.spool.append(batch.encode())
            return "spool"
        except InvalidInput as exc:
            self.reject(batch, str(exc))
            return "rejected"
        return "store"

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
                self._write(Batch.decode(body))
            except StoreUnavailable as exc:
                self._down(exc)
                return False
            except InvalidInput as exc:
                self.reject(Batch.decode(body), str(exc))
            self.spool.remove(batch_id)
        return self.spool.batches == 0
