"""Device health: silence after three intervals, the battery's trend and days left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.devicehealth import assess, summarise
from core.models import Device
from tests.core.test_timeseries import a_reading

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_silence_battery_trend_and_days_to_low() -> None:
    devices = [Device(tenant="kalmar", id="s-147788-paper", report_interval_s=900),
               Device(tenant="kalmar", id="quiet", report_interval_s=900),
               Device(tenant="kalmar", id="never", report_interval_s=900)]  # fmt: skip
    start = NOW - timedelta(days=10)
    readings = [
        a_reading(0, ts=start + timedelta(days=day), battery_v=3.9 - 0.02 * day) for day in range(11)
    ]  # 20 mV a day
    seen = {"s-147788-paper": NOW - timedelta(minutes=20), "quiet": NOW - timedelta(minutes=46)}
    health = {h.device_id: h for h in assess(devices, last_seen=seen, readings=readings, now=NOW)}
    ok = health["s-147788-paper"]
    assert not ok.silent
    assert ok.battery_v == pytest.approx(3.7)
    assert ok.battery_v_per_day == pytest.approx(-0.02)
    assert ok.days_to_low_battery == pytest.approx(20.0)
    assert health["quiet"].silent
    assert health["never"].silent
    assert health["never"].battery_v is None
    fleet = summarise(list(health.values()))
    assert (fleet.devices, fleet.silent, fleet.low_battery) == (3, 2, 0)
    assert fleet.silent_share == pytest.approx(2 / 3)
