"""Plans: created from forecasts, approved, dispatched, re-planned; drivers' reports counted once; exports."""

from __future__ import annotations

import csv
import io
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.api.conftest import FLEET, NOW, World
from tests.api.test_access import dispatched_plan

GPX_XSD = Path(__file__).resolve().parent / "data" / "gpx-1.1.xsd"


def test_a_plan_collects_every_bin_due_and_every_route_unloads(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    plan = client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()
    assert plan["status"] == "draft"
    forecasts = {f["bin_id"]: f for f in client.get("/v1/forecasts?limit=100", headers=h).json()["items"]}
    due = {b for b, f in forecasts.items() if f["full_at"] and f["full_at"] < "2026-11-24T05:00:00Z"}
    planned = {v["id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "bin"}
    assert due
    assert due <= planned
    left = {x["bin_id"] for x in plan["left_out"]}
    assert not planned & left
    for route in plan["routes"]:
        assert route["visits"][-1]["kind"] == "facility"  # unloads before it returns
        assert max(v["load_l"] for v in route["visits"]) <= 30_000
        arrivals = [v["arrival"] for v in route["visits"]]
        assert arrivals == sorted(arrivals)
        assert arrivals[0] >= "2026-11-23T06:00:00+01:00"
        assert route["driver"] in ("anna", "bo")
        assert route["co2_kg"] > 0


def test_approve_then_dispatch_in_that_order_only(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    plan_id = client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()["id"]
    early = client.post(f"/v1/plans/{plan_id}/dispatch", headers=h)
    assert (early.status_code, early.json()["detail"]) == (
        409, f"plan {plan_id} is draft: only a approved plan can be dispatched",
    )  # fmt: skip
    assert client.post(f"/v1/plans/{plan_id}/approve", headers=h).json()["status"] == "approved"
    assert client.post(f"/v1/plans/{plan_id}/dispatch", headers=h).json()["status"] == "dispatched"
    assert client.post(f"/v1/plans/{plan_id}/approve", headers=h).status_code == 409
    listed = client.get("/v1/plans?status=dispatched", headers=h).json()
    assert [p["id"] for p in listed["items"]] == [plan_id]


def test_planning_without_a_fleet_says_what_to_do(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    bad = client.put("/v1/fleet", json=FLEET | {"facilities": []}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.facilities"
    unknown = client.put(
        "/v1/fleet", json=FLEET | {"vehicles": [FLEET["vehicles"][0] | {"depot": "x"}]}, headers=h
    )  # type: ignore[operator]
    assert "starts at unknown depot 'x'" in unknown.json()["detail"]
    with world.services.registry.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM fleets")
    answer = client.post("/v1/plans", json={"day": "2026-11-23"}, headers=h)
    assert (answer.status_code, answer.json()["detail"]) == (
        409,
        "the tenant has no fleet: PUT /v1/fleet (depots, facilities, trucks) before planning",
    )


def test_the_calendar_says_which_days_the_trucks_run_and_why_not(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "viewer")
    christmas = client.get("/v1/calendar?after=2026-12-23&days=6&lang=sv", headers=h).json()
    assert christmas["next_working_day"] == "2026-12-28"
    assert [(d["day"][8:], d["working"], d["off"]) for d in christmas["days"]] == [
        ("24", False, "Julafton"), ("25", False, "Juldagen"), ("26", False, "Annandag jul"),
        ("27", False, "söndag"), ("28", True, None), ("29", True, None),
    ]  # fmt: skip
    assert client.get("/v1/calendar?after=2026-12-23&days=1", headers=h).json()["days"][0]["off"] == (
        "Christmas Eve"
    )
    # from today in Kalmar (the world's clock: Monday 23 November 2026, 06:00)
    assert client.get("/v1/calendar", headers=h).json()["next_working_day"] == "2026-11-24"
    for bad in ("days=0", "days=400", "after=2026-13-01", "lang=fi", "after=9999-12-30"):
        answer = client.get(f"/v1/calendar?{bad}", headers=h)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
    with world.services.registry.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM fleets")
    assert client.get("/v1/calendar", headers=h).status_code == 404


def _report(world: World, plan: dict[str, Any], who: str, bin_id: str, **extra: Any) -> Any:
    body = {
        "bin_id": bin_id,
        "status": "collected",
        "at": NOW.isoformat(),
        "client_id": f"{who}-{bin_id}"[:64],
    }
    return world.client.post(
        f"/v1/plans/{plan['id']}/outcomes", json=body | extra, headers=world.auth("kalmar", who)
    )


def test_a_drivers_report_is_counted_once_however_often_it_is_sent(world: World) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    driver, bins = route["driver"], [v["id"] for v in route["visits"] if v["kind"] == "bin"]
    first = _report(world, plan, driver, bins[0])
    assert first.status_code == 201
    assert first.json()["by"] == driver
    again = _report(world, plan, driver, bins[0])
    assert again.status_code == 200
    assert again.json() == first.json()
    assert world.collected == [
        ("kalmar", bins[0], NOW)
    ]  # told once: the simulator and the fill model hear it
    skipped = _report(world, plan, driver, bins[1], status="skipped", reason="blocked", client_id="skip-0001")
    assert skipped.status_code == 201
    assert skipped.json()["reason"] == "blocked"
    no_reason = _report(world, plan, driver, bins[2], status="skipped", client_id="skip-0002")
    assert no_reason.status_code == 422
    assert "needs a reason" in no_reason.json()["detail"]
    bad_reason = _report(world, plan, driver, bins[2], status="skipped", reason="lazy", client_id="skip-0003")
    assert bad_reason.json()["errors"][0]["field"] == "body.reason"
    other = "bo" if driver == "anna" else "anna"
    assert _report(world, plan, other, bins[2]).status_code == 404  # not on their route
    # another report under a client_id taken: refused, and the stored report (its note) not shown
    noted = _report(world, plan, driver, bins[2], status="skipped", reason="blocked", note="gate code 1234",
                    client_id="note-0001")  # fmt: skip
    assert noted.status_code == 201
    reused = _report(world, plan, driver, bins[3], client_id="note-0001")
    assert reused.status_code == 409
    assert "gate code" not in reused.text
    assert "names another report" in reused.json()["detail"]
    view = world.client.get(
        f"/v1/plans/{plan['id']}/routes/{route['index']}", headers=world.auth("kalmar", driver)
    )
    assert [(o["bin_id"], o["status"]) for o in view.json()["outcomes"]] == [
        (bins[0], "collected"),
        (bins[1], "skipped"),
        (bins[2], "skipped"),
    ]
    kpis = world.client.get("/v1/kpis/daily?day=2026-11-23", headers=world.auth("kalmar", "viewer")).json()
    assert (kpis["emptyings"], kpis["skipped"], kpis["routes"]) == (1, 2, len(plan["routes"]))
    assert kpis["km"] == round(sum(r["distance_m"] for r in plan["routes"]) / 1000, 1)


def test_reports_wait_for_dispatch(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    plan = client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()
    some_bin = next(v["id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "bin")
    answer = _report(world, plan, "dispatcher", some_bin)
    assert (answer.status_code, answer.json()["detail"]) == (
        409, f"plan {plan['id']} is draft: outcomes are reported on dispatched plans")  # fmt: skip


def test_a_replan_keeps_what_was_done_and_supersedes_the_old_plan_once_dispatched(world: World) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    bins = [v["id"] for v in route["visits"] if v["kind"] == "bin"]
    done = bins[:2]
    for n, bin_id in enumerate(done):
        assert _report(world, plan, route["driver"], bin_id, client_id=f"done-{n:04d}").status_code == 201
    h = world.auth("kalmar", "dispatcher")
    new = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    assert new["replaces"] == plan["id"]
    assert new["status"] == "draft"
    replanned = {v["id"] for r in new["routes"] for v in r["visits"] if v["kind"] == "bin"}
    assert not replanned & set(done)
    # until the new plan is dispatched the drivers keep their route, and report on it
    assert world.client.get(f"/v1/plans/{plan['id']}", headers=h).json()["status"] == "dispatched"
    mine = world.client.get("/v1/my/routes?day=2026-11-23", headers=world.auth("kalmar", route["driver"]))
    assert route["index"] in {r["route"]["index"] for r in mine.json()}
    meanwhile = next(k for k in bins[2:] if k in replanned)
    assert _report(world, plan, route["driver"], meanwhile, client_id="meanwhile-1").status_code == 201
    other = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    for step in ("approve", "dispatch"):
        assert world.client.post(f"/v1/plans/{new['id']}/{step}", headers=h).status_code == 200
    sent = world.client.get(f"/v1/plans/{new['id']}", headers=h).json()
    assert meanwhile not in {v["id"] for r in sent["routes"] for v in r["visits"]}
    reported = "reported on the plan this one replaces, after the re-plan"
    assert {"bin_id": meanwhile, "reason": reported, "code": "reported"} in (sent["left_out"])
    assert world.client.get(f"/v1/plans/{plan['id']}", headers=h).json()["status"] == "superseded"
    assert world.client.post(f"/v1/plans/{plan['id']}/replan", json={}, headers=h).status_code == 409
    assert world.client.post(f"/v1/plans/{other['id']}/approve", headers=h).status_code == 200
    refused = world.client.post(f"/v1/plans/{other['id']}/dispatch", headers=h)  # two re-plans of one plan
    assert refused.status_code == 409
    assert "replaced by another plan already" in refused.json()["detail"]
    # a phone that was offline meanwhile sends its report on the old plan: it still counts
    late = bins[3]
    assert _report(world, plan, route["driver"], late, client_id="late-0001").status_code == 201
    assert late in {o.bin_id for o in world.services.registry.outcomes("kalmar", plan_id=plan["id"])}


def test_a_replan_during_the_day_sets_trucks_off_from_where_they_are_and_takes_a_fire(world: World) -> None:
    from datetime import datetime, timedelta

    from core.models import Event, EventKind

    plan = dispatched_plan(world)
    route = max(plan["routes"], key=lambda r: len(r["visits"]))
    bins = [v for v in route["visits"] if v["kind"] == "bin"]
    done = bins[:3]
    for n, visit in enumerate(done):
        answer = _report(world, plan, route["driver"], visit["id"], client_id=f"mid-{n:04d}",
                         at=(NOW + timedelta(hours=2, minutes=n)).isoformat())  # fmt: skip
        assert answer.status_code == 201
    planned = {v["id"] for r in plan["routes"] for v in r["visits"]}
    burning = next(b.id for b in world.services.registry.bins("kalmar") if b.id not in planned)
    world.services.registry.add_events([Event(tenant="kalmar", kind=EventKind.FIRE_RISK, bin_id=burning,
                                              ts=NOW + timedelta(hours=2), value=71.0)])  # fmt: skip
    world.services.clock = lambda: NOW + timedelta(hours=3)  # 09:00 in Kalmar
    h = world.auth("kalmar", "dispatcher")
    new = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    visits = [v for r in new["routes"] for v in r["visits"]]
    assert burning in {v["id"] for v in visits}  # a fire risk is due whatever its fill
    assert not {v["id"] for v in done} & {v["id"] for v in visits}
    assert all(datetime.fromisoformat(v["arrival"]) >= NOW + timedelta(hours=3) for v in visits)
    same = next(r for r in new["routes"] if r["vehicle"] == route["vehicle"])
    first = same["visits"][0]
    carried = done[-1]["load_l"]  # what the truck had collected when it stopped reporting
    if first["kind"] == "bin":
        assert first["load_l"] > carried  # it goes on with what it carries
    # it sets off from its last bin, not from the depot: the first leg is the drive from there
    last = done[-1]["location"]
    leg_h = _km(last, first["location"]) * 1.3 / 30  # straight line x circuity at 30 km/h
    start = datetime.fromisoformat(first["arrival"]) - (NOW + timedelta(hours=3))
    assert abs(start.total_seconds() / 3600 - leg_h) < 0.05


def test_a_dispatched_replan_is_timed_again_from_where_the_truck_reported_meanwhile(world: World) -> None:
    from datetime import datetime, timedelta

    from tests.api.conftest import FLEET

    plan = dispatched_plan(world)
    route = max(plan["routes"], key=lambda r: len(r["visits"]))
    bins = [v for v in route["visits"] if v["kind"] == "bin"]
    for n, visit in enumerate(bins[:2]):
        answer = _report(world, plan, route["driver"], visit["id"], client_id=f"early-{n:04d}",
                         at=(NOW + timedelta(hours=2, minutes=n)).isoformat())  # fmt: skip
        assert answer.status_code == 201
    world.services.clock = lambda: NOW + timedelta(hours=3)
    h = world.auth("kalmar", "dispatcher")
    new = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    # the driver, still on the old route, empties one more bin that the re-plan had given a truck
    replanned = {v["id"]: v for r in new["routes"] for v in r["visits"] if v["kind"] == "bin"}
    meanwhile = next(replanned[v["id"]] for v in bins[2:] if v["id"] in replanned)
    at = NOW + timedelta(hours=3, minutes=20)
    answer = _report(
        world, plan, route["driver"], meanwhile["id"], client_id="meanwhile-9", at=at.isoformat()
    )
    assert answer.status_code == 201
    for step in ("approve", "dispatch"):
        assert world.client.post(f"/v1/plans/{new['id']}/{step}", headers=h).status_code == 200
    dispatched = world.client.get(f"/v1/plans/{new['id']}", headers=h).json()["routes"]
    assert meanwhile["id"] not in {v["id"] for r in dispatched for v in r["visits"]}
    mine = next(r for r in new["routes"] if r["vehicle"] == route["vehicle"])
    sent = next(r for r in dispatched if r["vehicle"] == route["vehicle"])
    assert [v["seq"] for v in sent["visits"]] == list(range(len(sent["visits"])))
    # from the bin it reported, at the time it reported: straight lines x 1.3 at 30 km/h
    places = [meanwhile["location"], *(v["location"] for v in sent["visits"]), FLEET["depots"][0]["location"]]
    legs = [_km(a, b) * 1.3 for a, b in itertools.pairwise(places)]
    first = datetime.fromisoformat(sent["visits"][0]["arrival"])
    assert abs((first - at).total_seconds() - legs[0] / 30 * 3600) < 2
    assert sent["distance_m"] == pytest.approx(sum(legs) * 1000, rel=1e-3)
    arrivals = [datetime.fromisoformat(v["arrival"]) for v in sent["visits"]]
    assert arrivals == sorted(arrivals)
    assert sent["visits"][0]["arrival"].endswith("+01:00")  # local time, as the plan had it
    before = {v["id"]: v["arrival"] for v in mine["visits"]}
    assert any(v["arrival"] != before[v["id"]] for v in sent["visits"])  # timed again, not kept
    # nothing sets off before the re-plan was made, whichever truck lost the bin
    assert all(
        datetime.fromisoformat(v["arrival"]) > NOW + timedelta(hours=3)
        for r in dispatched
        for v in r["visits"]
    )
    # a route whose truck did nothing meanwhile and lost nothing is left as planned
    for other in new["routes"]:
        if other["vehicle"] != route["vehicle"] and meanwhile["id"] not in {v["id"] for v in other["visits"]}:
            assert (
                next(r for r in dispatched if r["vehicle"] == other["vehicle"])["visits"] == other["visits"]
            )


def _km(a: dict[str, float], b: dict[str, float]) -> float:
    from core.models import Location
    from routing.matrix import haversine_m

    return haversine_m(Location(**a), Location(**b)) / 1000


def test_route_exports_gpx_valid_against_the_schema_geojson_csv_and_a_qr_code(world: World) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    base, h = f"/v1/plans/{plan['id']}/routes/{route['index']}", world.auth("kalmar", route["driver"])
    gpx = world.client.get(f"{base}/gpx", headers=h)
    assert gpx.headers["content-type"] == "application/gpx+xml"
    xmlschema.XMLSchema(GPX_XSD).validate(gpx.text)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    points = ET.fromstring(gpx.text).findall("g:rte/g:rtept", ns)
    assert [p.findtext("g:name", namespaces=ns) for p in points] == [v["id"] for v in route["visits"]]
    geo = world.client.get(f"{base}/geojson", headers=h).json()
    assert geo["features"][0]["geometry"]["type"] == "LineString"
    assert len(geo["features"]) == 1 + len(route["visits"])
    rows = list(csv.DictReader(io.StringIO(world.client.get(f"{base}/csv", headers=h).text)))
    assert [r["id"] for r in rows] == [v["id"] for v in route["visits"]]
    assert rows[0]["seq"] == "1"
    qr = world.client.get(f"{base}/qr.svg", headers=h)
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.lstrip().startswith("<?xml")


def test_the_route_sheet_and_geojson_carry_the_drivers_lunch_where_it_falls(world: World) -> None:
    from tests.api.conftest import FLEET_WITH_LUNCH

    dispatcher = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=FLEET_WITH_LUNCH, headers=dispatcher).status_code == 200
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    ((lunch),) = route["breaks"]
    base, h = f"/v1/plans/{plan['id']}/routes/{route['index']}", world.auth("kalmar", route["driver"])
    rows = list(csv.DictReader(io.StringIO(world.client.get(f"{base}/csv", headers=h).text)))
    (at,) = [n for n, r in enumerate(rows) if r["kind"] == "break"]
    assert (rows[at]["id"], rows[at]["arrival"]) == ("lunch", lunch["start"])
    assert at > 0  # taken after a stop, where that stop is
    assert (rows[at]["lat"], rows[at]["lon"]) == (rows[at - 1]["lat"], rows[at - 1]["lon"])
    visits = [r for r in rows if r["kind"] != "break"]
    assert [r["id"] for r in visits] == [v["id"] for v in route["visits"]]
    assert all(r["arrival"] < lunch["start"] for r in rows[:at])
    assert all(r["arrival"] >= lunch["end"] for r in rows[at + 1 :])  # nobody works at lunch
    geo = world.client.get(f"{base}/geojson", headers=h).json()
    assert geo["features"][0]["properties"]["breaks"] == [lunch]


def test_a_collected_bin_starts_again_from_empty_in_the_forecast(world: World) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    bin_id = next(v["id"] for v in route["visits"] if v["kind"] == "bin")
    h = world.auth("kalmar", "viewer")
    before = world.client.get(f"/v1/bins/{bin_id}/forecast", headers=h).json()
    assert before["fillingLevel"] > 0.3
    assert _report(world, plan, route["driver"], bin_id).status_code == 201
    after = world.client.get(f"/v1/bins/{bin_id}/forecast", headers=h).json()
    assert (after["fillingLevel"], after["reliability"]) == (0.0, "low")  # no reading since: its kind's pace
    assert after["full_at"] > before["full_at"]


def test_a_handover_link_signs_the_driver_in_once(world: World) -> None:
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    h = world.auth("kalmar", "dispatcher")
    link = world.client.post(f"/v1/plans/{plan['id']}/routes/{route['index']}/handover", headers=h).json()
    assert link["url"].startswith("http://127.0.0.1:8000/driver#code=tmn_")
    assert "<svg" in link["qr_svg"]
    code = link["url"].split("#code=")[1]
    used = world.client.get("/v1/my/routes", headers={"Authorization": f"Bearer {code}"})
    assert used.status_code == 401
    assert "traded at /v1/auth/handover" in used.json()["detail"]
    token = world.client.post("/v1/auth/handover", json={"code": code}).json()
    assert token["role"] == "driver"
    mine = world.client.get("/v1/my/routes", headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert [r["route"]["index"] for r in mine] == [route["index"]]
    again = world.client.post("/v1/auth/handover", json={"code": code})
    assert again.status_code == 401
    assert world.client.post("/v1/keys", json={"role": "viewer", "name": "handover"},
                             headers=world.auth("kalmar", "admin")).status_code == 422  # fmt: skip


def test_a_break_the_driver_reported_begun_is_not_planned_again_and_the_truck_sets_off_after_it(
    world: World,
) -> None:
    from datetime import datetime, timedelta

    from tests.api.conftest import FLEET_WITH_LUNCH

    dispatcher = world.auth("kalmar", "dispatcher")
    assert world.client.put("/v1/fleet", json=FLEET_WITH_LUNCH, headers=dispatcher).status_code == 200
    plan = dispatched_plan(world)
    route = plan["routes"][0]
    driver = world.auth("kalmar", route["driver"])
    base = f"/v1/plans/{plan['id']}/routes/{route['index']}"
    world.services.clock = lambda: NOW + timedelta(minutes=25)  # 06:25 in Kalmar; lunch 06:40 to 07:00

    def replanned() -> dict[str, Any]:
        new = world.client.post(
            f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=dispatcher
        )
        assert new.status_code == 201, new.text
        return dict(next(r for r in new.json()["routes"] if r["vehicle"] == route["vehicle"]))

    assert [b["id"] for b in replanned()["breaks"]] == ["lunch"]  # nothing reported: lunch ahead
    began = NOW + timedelta(minutes=20)  # the driver took it early, at 06:20, until 06:50
    body = {"break_id": "lunch", "start": began.isoformat(), "client_id": "lunch-0001"}
    first = world.client.post(f"{base}/breaks", json=body, headers=driver)
    assert first.status_code == 201, first.text
    again = world.client.post(f"{base}/breaks", json=body, headers=driver)
    assert (again.status_code, again.json()) == (200, first.json())  # a resent report counts once
    fika = world.client.post(f"{base}/breaks", json=body | {"break_id": "fika", "client_id": "fika-0001"},
                             headers=driver)  # fmt: skip
    assert (fika.status_code, fika.json()["detail"]) == (
        422, f"truck {route['vehicle']!r} has no break 'fika': its breaks are lunch")  # fmt: skip
    other = "bo" if route["driver"] == "anna" else "anna"
    stranger = world.client.post(f"{base}/breaks", json=body | {"client_id": "lunch-0002"},
                                 headers=world.auth("kalmar", other))  # fmt: skip
    assert stranger.status_code == 404
    viewer = world.auth("kalmar", "viewer")
    assert world.client.post(f"{base}/breaks", json=body, headers=viewer).status_code == 403
    (taken,) = world.client.get(base, headers=driver).json()["breaks_taken"]
    assert (taken["break_id"], taken["vehicle"], taken["by"]) == ("lunch", route["vehicle"], route["driver"])

    same = replanned()
    assert same["breaks"] == []  # had it already, though its window is still open when the truck sets off
    assert all(datetime.fromisoformat(v["arrival"]) > began + timedelta(minutes=30) for v in same["visits"])
    draft = world.client.post(f"/v1/plans/{plan['id'] + 1}/routes/{same['index']}/breaks",
                              json=body | {"client_id": "lunch-0003"}, headers=dispatcher)  # fmt: skip
    assert (draft.status_code, draft.json()["detail"]) == (
        409, f"plan {plan['id'] + 1} is draft: breaks are reported on dispatched plans")  # fmt: skip


def test_a_dispatcher_includes_a_bin_leaves_one_and_takes_a_truck_off_and_a_replan_keeps_it(
    world: World,
) -> None:
    h = world.auth("kalmar", "dispatcher")
    plain = world.client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()
    planned = {v["id"] for r in plain["routes"] for v in r["visits"] if v["kind"] == "bin"}
    assert {r["vehicle"] for r in plain["routes"]} == {"truck-1"}  # one truck does the test city
    idle = sorted(b.id for b in world.services.registry.bins("kalmar") if b.id not in planned)[0]
    due = sorted(planned)[0]
    asked = {"day": "2026-11-23", "time_limit_s": 1, "include": [idle], "exclude": [due],
             "vehicles_off": ["truck-1"]}  # fmt: skip
    made = world.client.post("/v1/plans", json=asked, headers=h)
    assert made.status_code == 201, made.text
    plan = made.json()
    visited = {v["id"] for r in plan["routes"] for v in r["visits"] if v["kind"] == "bin"}
    assert idle in visited  # not due by its forecast: collected all the same
    assert due not in visited
    dispatcher = {"bin_id": due, "reason": "left out by the dispatcher for the day", "code": "dispatcher"}
    assert dispatcher in plan["left_out"]
    assert {r["vehicle"] for r in plan["routes"]} == {"truck-2"}  # truck-1 in the workshop
    assert plan["choices"] == {"include": [idle], "exclude": [due], "vehicles_off": ["truck-1"]}
    # a re-plan keeps the day's choices unless told otherwise
    for step in ("approve", "dispatch"):
        assert world.client.post(f"/v1/plans/{plan['id']}/{step}", headers=h).status_code == 200
    again = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h).json()
    assert again["choices"] == plan["choices"]
    assert {r["vehicle"] for r in again["routes"]} == {"truck-2"}
    back = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1, "vehicles_off": []},
                             headers=h).json()  # fmt: skip
    assert (back["choices"]["vehicles_off"], back["choices"]["include"]) == ([], [idle])
    # a bin removed since is dropped from the choices a re-plan keeps (as the scheduler's fire re-plan
    # keeps them), not a reason to refuse it
    world.services.registry.delete_bin("kalmar", due)
    kept = world.client.post(f"/v1/plans/{plan['id']}/replan", json={"time_limit_s": 1}, headers=h)
    assert kept.status_code == 201, kept.text
    assert kept.json()["choices"] == {"include": [idle], "exclude": [], "vehicles_off": ["truck-1"]}
    # what cannot be: said plainly
    for body, detail in (
        ({"include": ["no-such-bin"]}, "no such bins: no-such-bin"),
        ({"vehicles_off": ["truck-9"]}, "no such trucks: truck-9 (the fleet has truck-1, truck-2)"),
        ({"include": [idle], "exclude": [idle]}, f"bins both included and excluded: {idle}"),
        ({"vehicles_off": ["truck-1", "truck-2"]}, "every truck is off that day: nothing can be collected"),
    ):
        answer = world.client.post(
            "/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1} | body, headers=h
        )
        assert answer.status_code in (409, 422), answer.text
        assert answer.json()["detail"] == detail


def test_the_tips_opening_hours_are_kept_and_a_fleet_with_half_of_them_is_refused(world: World) -> None:
    from datetime import datetime

    from tests.api.conftest import FLEET

    h = world.auth("kalmar", "dispatcher")
    body = {"day": "2026-11-23", "time_limit_s": 1}
    before = world.client.post("/v1/plans", json=body, headers=h).json()
    unloads = [v["arrival"] for r in before["routes"] for v in r["visits"] if v["kind"] == "facility"]
    assert min(unloads)[11:16] < "10:00"  # always open: the trucks tip before ten
    tip = FLEET["facilities"][0]
    late = FLEET | {"facilities": [tip | {"opens": "10:00", "closes": "15:00"}]}
    assert world.client.put("/v1/fleet", json=late, headers=h).status_code == 200
    plan = world.client.post("/v1/plans", json=body, headers=h).json()
    unloads = [datetime.fromisoformat(v["arrival"]) for r in plan["routes"] for v in r["visits"]
               if v["kind"] == "facility"]  # fmt: skip
    assert unloads
    assert all("10:00" <= f"{at:%H:%M}" <= "15:00" for at in unloads), unloads  # waits for it to open
    assert len(plan["left_out"]) == len(before["left_out"])  # and still collects what it did
    for facility, detail in (
        (tip | {"opens": "09:00"}, "facility 'moskogen': give both opens and closes, or neither"),
        (
            tip | {"opens": "15:00", "closes": "09:00"},
            "facility 'moskogen': closes 09:00:00 is not after opens 15:00:00",
        ),
    ):
        answer = world.client.put("/v1/fleet", json=FLEET | {"facilities": [facility]}, headers=h)
        assert answer.status_code == 422
        assert detail in answer.text


def test_trucks_on_different_shifts_keep_their_own_hours(world: World) -> None:
    from datetime import datetime

    from tests.api.conftest import FLEET

    h = world.auth("kalmar", "dispatcher")
    early, late = FLEET["vehicles"]
    fleet = FLEET | {
        "vehicles": [early | {"shift_s": 3600}, late | {"shift_start": "08:00", "shift_s": 8 * 3600}]
    }
    assert world.client.put("/v1/fleet", json=fleet, headers=h).status_code == 200
    plan = world.client.post("/v1/plans", json={"day": "2026-11-23", "time_limit_s": 1}, headers=h).json()
    by_truck = {r["vehicle"]: r for r in plan["routes"]}
    assert "truck-2" in by_truck  # the early truck's hour is not enough for the day
    arrivals = {k: [datetime.fromisoformat(v["arrival"]) for v in r["visits"]] for k, r in by_truck.items()}
    assert min(arrivals["truck-2"]).strftime("%H:%M") >= "08:00"
    assert by_truck["truck-2"]["duration_s"] <= 8 * 3600
    if "truck-1" in by_truck:
        assert max(arrivals["truck-1"]).strftime("%H:%M") <= "07:00"
        assert by_truck["truck-1"]["duration_s"] <= 3600
