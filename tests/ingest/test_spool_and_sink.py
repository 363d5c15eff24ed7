"""The spool keeps batches across restarts, in order, within its bound; the sink falls back to it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from core.errors import SpoolFull, StoreUnavailable
from core.models import Event, Reading
from core.timeseries.influx import StoreRejected
from ingest.sink import Batch, Sink
from ingest.spool import Spool
from tests.core.test_timeseries import a_reading


class FlakyStore:
    """An in-memory store that can be switched down, or made to refuse points."""

    def __init__(self) -> None:
        self.readings_written: list[Reading] = []
        self.up = True
        self.refuse = False
        self.refuse_seq: int | None = None  # refuses any write holding the reading of this seq

    def write_readings(self, readings: Sequence[Reading]) -> None:
        if not self.up:
            raise StoreUnavailable("store is down")
        if self.refuse or any(r.seq == self.refuse_seq for r in readings):
            raise StoreRejected("field type conflict")
        self.readings_written.extend(readings)

    def write(self, readings: Sequence[Reading], events: Sequence[Event]) -> None:
        self.write_readings(readings)
        self.write_events(events)

    def write_events(self, events: Sequence[Event]) -> None:
        if not self.up:
            raise StoreUnavailable("store is down")

    def readings(self, tenant: str, **_: datetime | str | None) -> list[Reading]:
        return list(self.readings_written)

    def count_readings(self, tenant: str | None = None) -> int:
        return len(self.readings_written)

    def events(self, tenant: str, *, kind: str | None = None) -> list[Event]:
        return []

    def ping(self) -> bool:
        return self.up

    def close(self) -> None:
        pass


def test_spooled_batches_survive_a_restart_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    for body in (b"first", b"second"):
        spool.append(body)
    spool.close()
    again = Spool(tmp_path, max_bytes=10_000)
    assert (again.batches, again.bytes) == (2, 11)
    oldest = again.oldest()
    assert oldest is not None
    assert oldest[1] == b"first"
    again.remove(oldest[0])
    assert again.oldest() is not None
    assert again.batches == 1


def test_a_full_spool_refuses_and_warns_on_the_way(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    with caplog.at_level(logging.WARNING):
        for _ in range(9):
            spool.append(b"x" * 10)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "spool is 50% full", "spool is 75% full", "spool is 90% full",
    ]  # fmt: skip
    with pytest.raises(SpoolFull, match="90 of 100 bytes"):
        spool.append(b"y" * 11)


def test_the_sink_spools_while_the_store_is_down_and_replays_in_order(tmp_path: Path) -> None:
    store, rejected = FlakyStore(), []
    sink = Sink(
        store=store, spool=Spool(tmp_path, max_bytes=1_000_000), reject=lambda b, r: rejected.append(r)
    )
    assert sink.put([a_reading(0)], []) == "store"
    store.up = False
    assert sink.put([a_reading(1)], []) == "spool"
    assert sink.put([a_reading(2)], []) == "spool"
    assert not sink.store_ok
    store.up = True
    assert sink.put([a_reading(3)], []) == "store"  # after what waited: order is kept
    assert [r.seq for r in store.readings_written] == [0, 1, 2, 3]
    assert sink.spool.batches == 0
    assert rejected == []


def test_points_the_store_refuses_go_to_the_dead_letters(tmp_path: Path) -> None:
    store, rejected = FlakyStore(), []
    sink = Sink(
        store=store, spool=Spool(tmp_path, max_bytes=1_000_000), reject=lambda b, r: rejected.append(b)
    )
    store.refuse = True
    assert sink.put([a_reading(0)], []) == "rejected"
    assert rejected == [Batch([a_reading(0)], [])]


def test_one_point_the_store_refuses_keeps_no_other_point_out(tmp_path: Path) -> None:
    store, rejected = FlakyStore(), []
    sink = Sink(
        store=store, spool=Spool(tmp_path, max_bytes=1_000_000), reject=lambda b, r: rejected.append(b)
    )
    store.refuse_seq = 7
    batch = [a_reading(m, tenant="vaxjo" if m % 2 else "kalmar") for m in range(20)]
    assert sink.put(batch, []) == "store"
    assert rejected == [Batch([batch[7]], [])]
    assert sorted(r.seq for r in store.readings_written) == [m for m in range(20) if m != 7]


def test_a_batch_encodes_and_decodes_unchanged() -> None:
    batch = Batch([a_reading(0), a_reading(1, temperature_c=None)], [])
    assert Batch.decode(batch.encode()) == batch
