"""Any text a tenant or a device can put into a tag or a string field is written by InfluxDB, not refused."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Event, EventKind, Fraction, Reading
from core.settings import StoreSettings
from core.timeseries.influx import InfluxStore
from tests.conftest import unique
from tests.harness.services import InfluxDB

_numbers = itertools.count()


@pytest.fixture(scope="module")
def store(influxdb: InfluxDB) -> Iterator[InfluxStore]:
    settings = StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=unique("lp"))
    with InfluxStore.from_settings(settings) as store:
        yield store


def as_tag(text: str) -> str:
    """What the README promises a tag value reads back as: a backslash as "/", a control character as a
    space."""
    return "".join("/" if c == "\\" else " " if ord(c) < 32 or ord(c) == 127 else c for c in text)


def reading(district: str, fw_version: str) -> Reading:
    n = next(_numbers)
    return Reading(
        tenant="kalmar", device_id=f"d-{n}", bin_id=f"b-{n}", fraction=Fraction.GLASS, district=district,
        ts=datetime.now(UTC) - timedelta(minutes=1), seq=n, distance_mm=900, filling_level=0.4,
        fw_version=fw_version,
    )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(district=st.text(max_size=100), fw_version=st.text(min_size=1, max_size=32))
def test_any_district_and_firmware_text_is_stored(store: InfluxStore, district: str, fw_version: str) -> None:
    sent = reading(district, fw_version)
    store.write_readings([sent])
    [back] = store.readings("kalmar", bin_id=sent.bin_id)
    assert back.fw_version == fw_version
    assert back.district == as_tag(district)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=st.text(max_size=300), district=st.text(max_size=40))
def test_any_event_detail_is_stored(store: InfluxStore, detail: str, district: str) -> None:
    bin_id = f"e-{next(_numbers)}"
    event = Event(
        tenant="kalmar", kind=EventKind.FULL, ts=datetime.now(UTC), bin_id=bin_id, district=district,
        detail=detail, value=0.9,
    )  # fmt: skip
    store.write_events([event])
    rows = store.query(f"SELECT detail FROM events WHERE \"bin\" = '{bin_id}'", tenant="kalmar")
    assert [row["detail"] for row in rows] == [detail]


def test_a_district_ending_in_a_backslash_keeps_no_other_point_out(store: InfluxStore) -> None:
    """The attack of the security review: one tenant's district broke a whole batch's line protocol."""
    batch = [reading("Centrum\\", "1.0"), reading("Öster", "1.0"), reading("a\\,b= c", "1.0")]
    store.write_readings(batch)
    assert [store.readings("kalmar", bin_id=r.bin_id)[0].district for r in batch] == [
        "Centrum/",
        "Öster",
        "a/,b= c",
    ]
