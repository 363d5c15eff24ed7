"""Every panel's query, with Grafana's macros and variables filled in, run on a real InfluxDB.

The InfluxDB is filled the way production fills it: simulated devices publish through Mosquitto,
ingest stores what they send. What planning writes (`collection`, `forecasts`) is written with the
kernel's own functions for it (the planner's own writes are tested in tests/api and tests/integration).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from core import places
from core.operations import forecast_points
from core.registry import Registry
from core.registry.migrate import upgrade
from core.settings import MqttSettings, StoreSettings
from core.timeseries.influx import InfluxStore
from dashboards.board import Board
from dashboards.catalog import boards
from dashboards.influxql import Target, render
from ingest.mqtt import Publisher
from ingest.simulate import Simulator
from planning.figures import record_days
from tests.conftest import unique
from tests.harness.services import InfluxDB, Mosquitto
from tests.integration.pipeline_helpers import (
    TENANT,
    eventually,
    payload,
    reading,
    running_ingest,
    seed_kalmar,
    uplink,
)


class Filled:
    """The store as the fixture filled it, from `now` on (the fixture's time, not the module's import:
    the suite may reach these tests many minutes after collecting them on a busy machine)."""

    def __init__(self, store: InfluxStore, registry: Registry, now: datetime) -> None:
        self.store, self.registry, self.now = store, registry, now

    def window(self) -> dict[str, datetime]:
        """The panels' time range: the week before the fill, to a little after this moment."""
        return {"start": self.now - timedelta(days=7), "end": datetime.now(UTC) + timedelta(minutes=5)}

    def variables(self, board: Board) -> dict[str, str]:
        emptied = self.registry.events(TENANT, kind="emptied")
        busiest = max({e.bin_id for e in emptied}, key=lambda b: sum(e.bin_id == b for e in emptied))
        return {"tenant": TENANT, "district": "All", "fraction": "All", "bin": str(busiest)}


@pytest.fixture(scope="module")
def filled(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    work = tmp_path_factory.mktemp("dashboards")
    now = datetime.now(UTC)
    settings = StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=unique("dash"))
    with (
        Registry.connect(f"sqlite:///{work / 'registry.sqlite'}") as registry,
        InfluxStore.from_settings(settings) as store,
    ):
        upgrade(registry.engine)
        devices = seed_kalmar(registry)
        mqtt = MqttSettings(host="127.0.0.1", port=mosquitto.port)
        pairs = [
            (registry.bin(TENANT, str(d.bin_id)), d) for d in (registry.device(TENANT, i) for i in devices)
        ]
        with running_ingest(mosquitto.port, registry, store, work / "spool", stats_interval_s=0.3,
                            silent_check_interval_s=0.2):  # fmt: skip
            with Publisher(mqtt, client_id=unique("old")) as old:  # one device emptied, then quiet
                for seq, hours, distance in ((1, 8, 300), (2, 7, 1700), (3, 6, 1000)):
                    fields = {"temperature": 6.5, "battery_v": 3.9, "tilt_deg": 1.0, "rssi_dbm": -80}
                    body = reading(seq, ts=now - timedelta(hours=hours), distance_mm=distance, **fields)
                    old.publish(uplink(devices[-1]), payload(body))
                    old.flush()  # in order: full, emptied, half full
                    eventually(lambda n=seq: store.count_readings(TENANT) >= n, timeout_s=30)
            # three days replayed on a simulated clock, an hour between readings, a weekly round
            simulator = Simulator(
                pairs[:-1], mqtt=mqtt, bad_share=0.0, client_id=unique("sim"), fixed_round=True
            )
            simulator.run(
                period_s=0.2,
                ticks=0,
                stop=threading.Event(),
                on_tick=lambda _: None,
                backfill_days=3,
                report_interval_s=3600,
            )
            eventually(lambda: store.count_readings(TENANT) >= simulator.tally.published, timeout_s=60)
            eventually(lambda: bool(registry.events(TENANT, kind="silent")), what="a silent event")
            eventually(lambda: bool(store.measurements("ingest")), what="ingest statistics")
        # the week's collection figures as the scheduler writes them: from these readings and events
        week = [date.today() - timedelta(days=back) for back in range(6, -1, -1)]
        figures = record_days(registry, store, TENANT, week, datetime.now(UTC))
        assert [f.day for f in figures] == week
        assert sum(f.sensor_emptyings for f in figures) > 0  # the simulated round emptied bins
        first_bin = places.bin_id(TENANT, places.stations()[0], places.STATION_FRACTIONS[0])
        busiest = Filled(store, registry, now).variables(boards()[0])["bin"]
        for bin_id in {first_bin, busiest}:
            store.write_measurements(forecast_points(tenant=TENANT, bin_id=bin_id, points=[
                (now + timedelta(hours=h), min(1.0, 0.3 + 0.02 * h), 0.2 + 0.01 * h, min(1.0, 0.4 + 0.03 * h))
                for h in range(1, 48)
            ]))  # fmt: skip
        yield Filled(store, registry, now)


def all_targets() -> list[tuple[str, str, Target]]:
    return [(b.uid, title, target) for b in boards() for title, target in b.targets]


@pytest.mark.parametrize(
    ("uid", "title", "target"), all_targets(), ids=[f"{u}:{t}" for u, t, _ in all_targets()]
)
def test_each_panel_query_returns_the_series_it_expects(
    filled: Filled, uid: str, title: str, target: Target
) -> None:
    board = next(b for b in boards() if b.uid == uid)
    query = render(target.query, **filled.window(), interval="1h", variables=filled.variables(board))
    rows = filled.store.query(query)
    assert rows, f"{title}: no rows for {query}"
    for column in target.columns:
        assert any(row.get(column) is not None for row in rows), f"{title}: no {column!r} in {rows[:2]}"
    for tag in target.group_by:
        assert all(row.get(tag) is not None for row in rows), f"{title}: series not grouped by {tag!r}"


@pytest.mark.parametrize("board", [b for b in boards() if b.variables], ids=lambda b: b.uid)
def test_each_template_variable_offers_values(filled: Filled, board: Board) -> None:
    for variable in board.to_json()["templating"]["list"]:
        query = render(variable["query"], **filled.window(), interval="1h", variables={"tenant": TENANT})
        values = [row["value"] for row in filled.store.query(query)]
        assert values, f"variable {variable['name']} offers nothing"


def test_the_json_carries_exactly_the_tested_queries() -> None:
    for board in boards():
        document = board.to_json()
        in_json = [t["query"] for p in document["panels"] for t in p["targets"]]
        in_json += [a["query"] for a in document.get("annotations", {}).get("list", [])]
        assert sorted(in_json) == sorted(t.query for _, t in board.targets)


def test_filled_bins_show_up_over_threshold(filled: Filled) -> None:
    fleet = next(b for b in boards() if b.uid == "tomning-fleet")
    _, over = next(t for t in fleet.targets if "Over threshold" in t[0])
    query = render(over.query, **filled.window(), interval="1h", variables=filled.variables(fleet))
    (row,) = filled.store.query(query)
    full_now = sum(s.filling_level >= 0.8 for s in filled.registry.states(TENANT))
    assert row["count"] == full_now
