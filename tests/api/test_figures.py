"""A day's collection figures: overflow bin-hours from the readings, and the `collection` measurement."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.models import Fraction, Reading
from planning.figures import HELD_AT_MOST, overflow_hours
from tests.api.conftest import NOW, World
from tests.api.test_access import dispatched_plan

KALMAR = ZoneInfo("Europe/Stockholm")
MIDNIGHT = datetime(2026, 11, 23, 0, 0, tzinfo=KALMAR)
H = timedelta(hours=1)


def test_an_overflow_lasts_from_a_full_reading_until_the_next_and_no_longer_than_a_reading_holds() -> None:
    end = MIDNIGHT + 24 * H
    # full since before midnight, emptied at 02:00: two hours of the day
    assert (
        overflow_hours([(MIDNIGHT - H, 0.99), (MIDNIGHT + H, 1.0), (MIDNIGHT + 2 * H, 0.1)], MIDNIGHT, end)
        == 2
    )
    # a full reading, then silence: it holds six hours, not the rest of the day
    assert overflow_hours([(MIDNIGHT + 10 * H, 0.99)], MIDNIGHT, end) == HELD_AT_MOST / H
    # full at 22:00 and still at 23:30: until midnight only
    assert overflow_hours([(MIDNIGHT + 22 * H, 0.98), (MIDNIGHT + 23.5 * H, 1.0)], MIDNIGHT, end) == 2
    # a full reading long before the day, or none full: nothing
    assert overflow_hours([(MIDNIGHT - 7 * H, 1.0)], MIDNIGHT, end) == 0
    assert overflow_hours([(MIDNIGHT + H, 0.97), (MIDNIGHT + 2 * H, 0.5)], MIDNIGHT, end) == 0


def _reading(bin_id: str, ts: datetime, level: float) -> Reading:
    return Reading(tenant="kalmar", device_id=f"d-{bin_id}", bin_id=bin_id, fraction=Fraction.PAPER, ts=ts,
                   seq=int(ts.timestamp()), filling_level=level)  # fmt: skip


def test_the_days_figures_count_overflow_hours_so_far_and_dispatch_writes_them_for_the_dashboard(
    world: World,
) -> None:
    assert NOW.astimezone(KALMAR) == MIDNIGHT + 6 * H  # the world's clock: 06:00 in Kalmar
    world.services.store.write_readings([
        _reading("over-a", MIDNIGHT - H, 0.99), _reading("over-a", MIDNIGHT + H, 0.99),
        _reading("over-a", MIDNIGHT + 2 * H, 0.3),  # 00:00 to 02:00
        _reading("over-b", MIDNIGHT + 3 * H, 1.0),  # 03:00 until now, 06:00
    ])  # fmt: skip
    viewer = world.auth("kalmar", "viewer")
    before = world.client.get("/v1/kpis/daily?day=2026-11-23", headers=viewer).json()
    assert (before["overflows"], before["overflow_bin_hours"], before["routes"]) == (2, 5.0, 0)
    assert world.services.store.measurements("collection") == []
    plan = dispatched_plan(world)
    (point,) = world.services.store.measurements("collection")
    assert point.ts == MIDNIGHT
    assert point.tags == {"tenant": "kalmar"}
    hours = round(sum(r["duration_s"] for r in plan["routes"]) / 3600, 2)
    km = round(sum(r["distance_m"] for r in plan["routes"]) / 1000, 1)
    assert point.fields == {
        "routes": len(plan["routes"]), "km": km, "duration_h": hours, "emptyings": 0,
        "co2_kg": round(km * 1.3, 1), "overflow_bin_hours": 5.0,
    }  # fmt: skip
    after = world.client.get("/v1/kpis/daily?day=2026-11-23", headers=viewer).json()
    assert (after["routes"], after["km"], after["duration_h"]) == (len(plan["routes"]), km, hours)


def test_a_replanned_days_km_count_what_the_trucks_drove_before_the_replan(world: World) -> None:
    from core.models import Location
    from routing.matrix import straight_line

    plan = dispatched_plan(world)
    route = max(plan["routes"], key=lambda r: len(r["visits"]))
    driver = world.auth("kalmar", route["driver"])
    done = [v for v in route["visits"] if v["kind"] == "bin"][:2]
    for n, visit in enumerate(done):
        body = {"bin_id": visit["id"], "status": "collected", "at": (NOW + (n + 1) * H).isoformat(),
                "client_id": f"drove-{n:04d}"}  # fmt: skip
        assert (
            world.client.post(f"/v1/plans/{plan['id']}/outcomes", json=body, headers=driver).status_code
            == 201
        )
    world.services.clock = lambda: NOW + 3 * H
    h = world.auth("kalmar", "dispatcher")
    new = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    for step in ("approve", "dispatch"):
        assert world.client.post(f"/v1/plans/{new['id']}/{step}", headers=h).status_code == 200
    sent = world.client.get(f"/v1/plans/{new['id']}", headers=h).json()
    # from the depot through the route's visits up to its last bin reported, as the plan had them
    depot = world.client.get("/v1/fleet", headers=h).json()["depots"][0]["location"]
    upto = [v for v in route["visits"] if v["seq"] <= done[-1]["seq"]]
    path = [Location(**depot), *(Location(**v["location"]) for v in upto)]
    legs = straight_line(path)
    drove = sum(legs[n][n + 1] for n in range(len(path) - 1))
    assert drove > 0
    expected = round((sum(r["distance_m"] for r in sent["routes"]) + drove) / 1000, 1)
    figures = world.client.get("/v1/kpis/daily?day=2026-11-23", headers=world.auth("kalmar", "viewer")).json()
    assert (figures["km"], figures["routes"], figures["emptyings"]) == (expected, len(sent["routes"]), 2)
    (point,) = world.services.store.measurements("collection")  # the re-plan's dispatch wrote it again
    assert point.fields["km"] == expected


def test_a_range_of_days_answers_a_day_each_as_json_and_as_csv_for_a_spreadsheet(world: World) -> None:
    import csv
    import io

    plan = dispatched_plan(world)
    viewer = world.auth("kalmar", "viewer")
    days = world.client.get("/v1/kpis/days?start=2026-11-21&end=2026-11-23", headers=viewer).json()
    assert [d["day"] for d in days] == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert [d["routes"] for d in days] == [0, 0, len(plan["routes"])]
    assert days[-1] == world.client.get("/v1/kpis/daily?day=2026-11-23", headers=viewer).json()
    assert len(world.client.get("/v1/kpis/days", headers=viewer).json()) == 30  # the month to today
    sheet = world.client.get("/v1/exports/kpis.csv?start=2026-11-21&end=2026-11-23", headers=viewer)
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["day"], r["routes"], r["km"]) for r in rows] == [
        (d["day"], str(d["routes"]), str(d["km"])) for d in days
    ]
    backwards = world.client.get("/v1/kpis/days?start=2026-11-23&end=2026-11-21", headers=viewer)
    assert (backwards.status_code, backwards.json()["detail"]) == (
        422,
        "start 2026-11-23 is after end 2026-11-21",
    )
    too_long = world.client.get("/v1/kpis/days?start=2025-01-01&end=2026-11-23", headers=viewer)
    assert too_long.json()["detail"] == "at most 366 days at a time, not 692: split the range"


def test_a_past_days_silent_sensors_are_those_silent_then_not_now(world: World) -> None:
    registry, store = world.services.registry, world.services.store
    devices = [d for d in registry.devices("kalmar") if d.enabled]
    steady, lapsed, *_ = devices
    end_of_sunday = MIDNIGHT  # 2026-11-22 ends at midnight, Kalmar time
    # both report now; the steady one reported into Sunday night, the lapsed one stopped at noon
    registry.touch_devices({("kalmar", steady.id): NOW, ("kalmar", lapsed.id): NOW})
    store.write_readings([
        Reading(tenant="kalmar", device_id=d.id, bin_id=d.bin_id, fraction=Fraction.PAPER, ts=ts,
                seq=int(ts.timestamp()), filling_level=0.4)
        for d, ts in ((steady, end_of_sunday - timedelta(minutes=10)), (lapsed, end_of_sunday - 12 * H))
    ])  # fmt: skip
    viewer = world.auth("kalmar", "viewer")
    sunday, today = world.client.get("/v1/kpis/days?start=2026-11-22&end=2026-11-23", headers=viewer).json()
    never_heard = len(devices) - 2  # the world's other devices never reported: silent every day
    assert sunday["devices_silent"] == never_heard + 1  # the lapsed one was silent then
    assert today["devices_silent"] == never_heard  # both heard from now
