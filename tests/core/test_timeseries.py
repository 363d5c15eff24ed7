"""The time-series store's contract: SQLite, InfluxDB v1 /write, and the v2 write API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import InvalidInput, StoreUnavailable
from core.models import Event, EventKind, Fraction, Reading
from core.settings import StoreSettings
from core.timeseries import TimeSeriesStore, open_store
from core.timeseries.influx import InfluxStore, StoreRejected
from core.timeseries.sqlite import to_ms
from tests.conftest import unique
from tests.harness.influx_v2 import InfluxV2Proxy
from tests.harness.services import InfluxDB

T0 = datetime(2026, 11, 20, 6, 0, 0, 250000, tzinfo=UTC)


def a_reading(minutes: int, **fields: object) -> Reading:
    values: dict[str, object] = {
        "tenant": "kalmar", "device_id": "s-147788-paper", "bin_id": "kalmar-0880-147788-paper",
        "fraction": Fraction.PAPER, "district": "Halltorp, Affären centrum",
        "ts": T0 + timedelta(minutes=minutes), "seq": minutes, "distance_mm": 1000, "filling_level": 0.52,
        "temperature_c": 4.5, "battery_v": 3.61, "threshold": 0.8,
        "tilt_deg": 2.0, "rssi_dbm": -71, "fw_version": "1.0.0",
    }  # fmt: skip
    return Reading.model_validate(values | fields)


@pytest.fixture(params=["sqlite", "influx-v1", "influx-v2", "influx-per-tenant"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    if request.param == "sqlite":
        with open_store(StoreSettings(sqlite_path=tmp_path / "ts.sqlite")) as sqlite:  # type: ignore[attr-defined]
            yield sqlite
        return
    influxdb: InfluxDB = request.getfixturevalue("influxdb")
    if request.param in ("influx-v1", "influx-per-tenant"):
        database = unique("c") + ("_{tenant}" if request.param == "influx-per-tenant" else "")
        settings = StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=database)
        with InfluxStore.from_settings(settings) as store:
            yield store
        return
    with InfluxV2Proxy(influxdb.url) as proxy:
        settings = StoreSettings(backend="influxdb", influx_url=proxy.url, influx_database=unique("c"),
                                 influx_write_api="v2")  # fmt: skip
        with InfluxStore.from_settings(settings) as store:
            yield store
            assert proxy.writes > 0, "the v2 write API was not used"


def test_readings_come_back_exactly_as_written(store: TimeSeriesStore) -> None:
    sent = [a_reading(0), a_reading(15, distance_mm=None, temperature_c=None, fw_version=None, district="")]
    store.write_readings(sent)
    assert store.readings("kalmar") == sent


def test_the_same_device_and_timestamp_overwrites(store: TimeSeriesStore) -> None:
    store.write_readings([a_reading(0), a_reading(15)])
    store.write_readings([a_reading(15, filling_level=0.6)])
    assert store.count_readings("kalmar") == 2
    assert [r.filling_level for r in store.readings("kalmar")] == [0.52, 0.6]


def test_queries_filter_by_tenant_bin_and_time(store: TimeSeriesStore) -> None:
    store.write_readings([a_reading(m) for m in range(0, 60, 10)])
    store.write_readings([a_reading(5, bin_id="other-bin", device_id="other"), a_reading(5, tenant="vaxjo")])
    in_window = store.readings("kalmar", bin_id="kalmar-0880-147788-paper", start=T0 + timedelta(minutes=10),
                               end=T0 + timedelta(minutes=30))  # fmt: skip
    assert [r.seq for r in in_window] == [10, 20]
    assert store.count_readings("kalmar") == 7
    assert store.count_readings("vaxjo") == 1


def test_fill_levels_come_by_bin_oldest_first_within_the_window(store: TimeSeriesStore) -> None:
    store.write_readings([a_reading(m, filling_level=m / 100) for m in (30, 0, 10, 20, 40)])
    # the same bin read by a second device (a sensor swapped), and other bins and tenants
    store.write_readings([a_reading(25, device_id="s-new", filling_level=0.9)])
    store.write_readings([a_reading(5, bin_id="other-bin", device_id="other"), a_reading(5, tenant="vaxjo")])
    levels = store.fill_levels("kalmar", start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=40))
    assert levels == {
        "kalmar-0880-147788-paper": [
            (T0 + timedelta(minutes=m), level) for m, level in ((10, 0.1), (20, 0.2), (25, 0.9), (30, 0.3))
        ]
    }
    everything = store.fill_levels("kalmar", start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert everything["other-bin"] == [(T0 + timedelta(minutes=5), 0.52)]
    assert store.fill_levels("nobody", start=T0, end=T0 + timedelta(days=1)) == {}


def test_quotes_in_values_do_not_break_queries(store: TimeSeriesStore) -> None:
    store.write_readings([a_reading(0, district='O\'Hara "x", y=z', fw_version='1.0 "b\\"')])
    assert store.readings("kalmar")[0].district == 'O\'Hara "x", y=z'
    assert store.readings("kalmar")[0].fw_version == '1.0 "b\\"'
    assert store.readings("o'hara") == []


def test_events_round_trip(store: TimeSeriesStore) -> None:
    event = Event(tenant="kalmar", kind=EventKind.FIRE_RISK, ts=T0, bin_id="b1", device_id="d1",
                  fraction=Fraction.GLASS, district="Norr", value=61.5,
                  detail="temperature 61.5 °C ≥ 57 °C")  # fmt: skip
    store.write_events([event])
    assert store.events("kalmar", kind="fire_risk") == [event]
    assert store.events("kalmar", kind="full") == []


def test_an_unreachable_influxdb_raises_store_unavailable() -> None:
    settings = StoreSettings(backend="influxdb", influx_url="http://127.0.0.1:9", timeout_s=1)
    with InfluxStore(settings) as store:
        assert not store.ping()
        with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:9"):
            store.write_readings([a_reading(0)])


def test_points_influxdb_refuses_raise_store_rejected(influx_store: InfluxStore) -> None:
    influx_store.write_readings([a_reading(0)])
    with pytest.raises(StoreRejected, match="HTTP 400"):
        # a field type conflict within the same shard: the points themselves are wrong
        influx_store._write([("kalmar", f'readings,tenant=kalmar,bin=b,device=d seq="text" {to_ms(T0)}')])


def test_the_hand_written_reading_line_matches_the_generic_one() -> None:
    import re

    from core.timeseries.influx import _READING_FIELDS, _TAGS, line, reading_point

    def parts(text: str) -> tuple[str, set[str], str]:
        series, fields, ts = re.split(r"(?<!\\) ", text)
        return series, set(fields.split(",")), ts

    for r in (
        a_reading(0, district="a b,c=d"),
        a_reading(1, distance_mm=None, fw_version='q"\\', rssi_dbm=None),
    ):
        fields: dict[str, object] = {f: getattr(r, f) for f in _READING_FIELDS}
        generic = line("readings", {t: str(getattr(r, a)) for t, a in _TAGS.items()}, fields, r.ts)
        assert parts(reading_point(r)) == parts(generic)


def test_readings_and_events_are_written_together(store: TimeSeriesStore) -> None:
    event = Event(tenant="kalmar", kind=EventKind.FULL, ts=T0, bin_id="b1", value=0.9, detail="full")
    store.write([a_reading(0), a_reading(1)], [event])
    assert store.count_readings("kalmar") == 2
    assert store.events("kalmar") == [event]


def test_measurements_round_trip_and_overwrite_by_series_and_time(store: TimeSeriesStore) -> None:
    from core.models import Measurement

    day = Measurement(name="routes", tags={"tenant": "kalmar", "vehicle": "truck-1"},
                      fields={"km": 84.5, "stops": 112}, ts=T0)  # fmt: skip
    store.write_measurements(
        [day, day.model_copy(update={"tags": {"tenant": "kalmar", "vehicle": "truck-2"}})]
    )
    store.write_measurements([day.model_copy(update={"fields": {"km": 90.0, "stops": 120}})])
    got = sorted(store.measurements("routes"), key=lambda m: m.tags["vehicle"])
    assert [(m.tags["vehicle"], m.fields) for m in got] == [
        ("truck-1", {"km": 90.0, "stops": 120}), ("truck-2", {"km": 84.5, "stops": 112}),
    ]  # fmt: skip


def test_a_database_per_tenant_keeps_each_municipalitys_points_apart(influxdb: InfluxDB) -> None:
    from core.models import Measurement

    prefix = unique("m")
    settings = StoreSettings(
        backend="influxdb", influx_url=influxdb.url, influx_database=prefix + "_{tenant}"
    )
    with InfluxStore.from_settings(settings) as store:
        store.write([a_reading(0), a_reading(5, tenant="vaxjo")], [
            Event(tenant="vaxjo", kind=EventKind.FULL, ts=T0, bin_id="b1", value=0.9, detail="full")
        ])  # fmt: skip
        store.write_measurements([Measurement(name="ingest", tags={"worker": "w1"}, fields={"n": 1}, ts=T0)])
        assert store.databases() == [f"{prefix}__platform", f"{prefix}_kalmar", f"{prefix}_vaxjo"]
        # what Grafana or an InfluxDB user of Kalmar's database sees: Kalmar only
        kalmar = store.query("SELECT * FROM readings", database=f"{prefix}_kalmar")
        assert {row["tenant"] for row in kalmar} == {"kalmar"}
        assert store.query("SELECT * FROM events", database=f"{prefix}_kalmar") == []
        assert [e.tenant for e in store.events("vaxjo")] == ["vaxjo"]
        assert store.query("SELECT * FROM ingest", database=f"{prefix}__platform")[0]["worker"] == "w1"
        assert (store.count_readings("kalmar"), store.count_readings("vaxjo"), store.count_readings()) == (
            1,
            1,
            2,
        )
        assert store.readings("nobody") == []  # no database of its own yet: nothing, not an error


def test_a_reader_of_one_tenants_database_is_granted_that_and_nothing_else(influxdb: InfluxDB) -> None:
    prefix, user = unique("g"), unique("reader")
    settings = StoreSettings(
        backend="influxdb", influx_url=influxdb.url, influx_database=prefix + "_{tenant}"
    )
    with InfluxStore.from_settings(settings) as store:
        assert store.grant_read("kalmar", user, "first") == f"{prefix}_kalmar"
        assert store.grant_read("kalmar", user, "it's changed") == f"{prefix}_kalmar"  # again: password set
        grants = store.query(f'SHOW GRANTS FOR "{user}"')
        assert [(g["database"], g["privilege"]) for g in grants] == [(f"{prefix}_kalmar", "READ")]
    shared = StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=unique("one"))
    with (
        InfluxStore.from_settings(shared) as store,
        pytest.raises(InvalidInput, match=r"name it with \{tenant\}"),
    ):
        store.grant_read("kalmar", user, "x")


@pytest.fixture(scope="module")
def guarded_influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """An InfluxDB that enforces users and grants, with an admin `admin` (password `admin-pw`)."""
    import httpx

    with InfluxDB(tmp_path_factory.mktemp("guarded") / "influxdb", auth=True) as server:
        made = httpx.post(
            f"{server.url}/query",
            params={"q": "CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES"},
        )
        assert made.status_code == 200, made.text
        yield server  # type: ignore[misc]


def test_a_granted_reader_reads_its_municipality_and_is_refused_the_others(
    guarded_influxdb: InfluxDB,
) -> None:
    from pydantic import SecretStr

    url = guarded_influxdb.url
    admin = StoreSettings(backend="influxdb", influx_url=url, influx_database="own_{tenant}",
                          influx_username="admin", influx_password=SecretStr("admin-pw"))  # fmt: skip
    with InfluxStore.from_settings(admin) as store:
        store.write_readings([a_reading(0), a_reading(5, tenant="vaxjo")])
        store.grant_read("kalmar", "kalmar_grafana", "k-pw")
        store.grant_read("vaxjo", "vaxjo_grafana", "v-pw")
        store._command("CREATE USER plain WITH PASSWORD 'plain-pw'")  # may write, not create databases
    # what Kalmar's Grafana data source can do, as its user: its own database, and nothing else
    as_kalmar = admin.model_copy(
        update={"influx_username": "kalmar_grafana", "influx_password": SecretStr("k-pw")}
    )
    with InfluxStore(as_kalmar) as kalmar:
        assert [r.tenant for r in kalmar.readings("kalmar")] == ["kalmar"]
        with pytest.raises(StoreUnavailable, match="not authorized"):
            kalmar.readings("vaxjo")
        with pytest.raises(StoreUnavailable, match="not authorized"):
            kalmar.write_readings([a_reading(9)])  # read only
    # a store of one database per tenant whose user may not create them: refused at start, saying why
    plain = as_kalmar.model_copy(
        update={"influx_username": "plain", "influx_password": SecretStr("plain-pw")}
    )
    with pytest.raises(InvalidInput, match=r"needs an InfluxDB user who may create databases"):
        InfluxStore.from_settings(plain)


def test_ingest_that_could_not_make_a_new_municipalitys_database_does_not_start(
    guarded_influxdb: InfluxDB, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    env = os.environ | {
        "TOMNING_REGISTRY__URL": f"sqlite:///{tmp_path / 'registry.sqlite'}",
        "TOMNING_STORE__BACKEND": "influxdb", "TOMNING_STORE__INFLUX_URL": guarded_influxdb.url,
        "TOMNING_STORE__INFLUX_DATABASE": "own_{tenant}", "TOMNING_STORE__INFLUX_USERNAME": "nobody",
        "TOMNING_STORE__INFLUX_PASSWORD": "wrong",
    }  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "tomning", "ingest"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    line = run.stderr.strip().splitlines()[-1]  # after the registry's migrations, one line says why
    assert line.startswith("tomning: influxdb refused 'CREATE DATABASE \"own__platform\"'")
    assert "needs an InfluxDB user who may create databases" in line
