"""The pure pipeline: messages in, readings, states, events and dead letters out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core import topics
from core.contract import Limits
from core.models import Bin, Device
from ingest.message import Inbound
from ingest.pipeline import Outcome, process
from tests.core.test_models import a_bin

NOW = datetime(2026, 11, 23, 6, tzinfo=UTC)


class FakeResolver:
    """Devices d1 (on b1 since a week), d2 (disabled) and d3 (on no bin)."""

    def __init__(self) -> None:
        self.bin = a_bin(id="b1", district="Norr")
        self.devices = {
            "d1": Device(tenant="kalmar", id="d1", bin_id="b1"),
            "d2": Device(tenant="kalmar", id="d2", enabled=False),
            "d3": Device(tenant="kalmar", id="d3"),
        }

    def device(self, tenant: str, device_id: str) -> Device | None:
        return self.devices.get(device_id) if tenant == "kalmar" else None

    def by_eui(self, dev_eui: str) -> Device | None:
        return next((d for d in self.devices.values() if d.dev_eui == dev_eui), None)

    def bin_at(self, tenant: str, device_id: str, ts: datetime) -> Bin | None:
        return self.bin if device_id == "d1" and ts > NOW - timedelta(days=7) else None


def run(*messages: tuple[str, object]) -> Outcome:
    batch = [
        Inbound(topics.uplink("kalmar", device), json.dumps(body).encode(), NOW) for device, body in messages
    ]
    return process(batch, resolver=FakeResolver(), states={}, limits=Limits())


def up(minutes_ago: int, distance_mm: int = 1050, **fields: object) -> dict[str, object]:
    ts = NOW - timedelta(minutes=minutes_ago)
    return {"ts": ts.isoformat(), "seq": 20_000 - minutes_ago, "distance_mm": distance_mm, **fields}


def test_a_reading_is_resolved_to_its_bin_with_the_bins_calibration() -> None:
    out = run(("d1", up(1, distance_mm=1050, fillingLevel=0.9)))
    (reading,) = out.readings
    assert (reading.bin_id, reading.fraction, reading.district) == ("b1", "paper", "Norr")
    assert reading.filling_level == 0.5  # from the distance, not the device's own 0.9
    assert out.states[("kalmar", "b1")].filling_level == 0.5
    assert out.seen == {("kalmar", "d1"): NOW - timedelta(minutes=1)}


def test_the_latest_state_is_the_newest_reading_whatever_the_arrival_order() -> None:
    out = run(("d1", [up(1, distance_mm=400), up(30, distance_mm=1700)]))
    assert out.states[("kalmar", "b1")].ts == NOW - timedelta(minutes=1)
    assert [e.kind.value for e in out.events] == ["full"]


def test_unknown_disabled_and_unmounted_devices_are_dead_lettered() -> None:
    out = run(("ghost", up(1)), ("d2", up(1)), ("d3", up(1)), ("d1", up(60 * 24 * 8)))
    assert [d.reason for d in out.dead_letters] == [
        "unknown_device", "disabled_device", "unmounted_device", "unmounted_device",
    ]  # fmt: skip
    assert out.readings == []


def test_a_topic_outside_the_contract_is_dead_lettered() -> None:
    batch = [Inbound("tomning/kalmar/devices/d1/down", b"{}", NOW), Inbound("other/x", b"\xff", NOW)]
    out = process(batch, resolver=FakeResolver(), states={}, limits=Limits())
    assert [(d.reason, d.tenant) for d in out.dead_letters] == [("unknown_topic", ""), ("unknown_topic", "")]
    assert out.dead_letters[1].payload == "\\xff"


def test_one_bad_reading_in_an_array_keeps_the_others() -> None:
    out = run(("d1", [up(3), up(2, distance_mm=-5), up(1)]))
    assert len(out.readings) == 2
    (letter,) = out.dead_letters
    assert letter.reason == "out_of_range"
    assert letter.detail.startswith("reading [1]: distance_mm")
    assert json.loads(letter.payload)["distance_mm"] == -5
