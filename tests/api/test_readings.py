"""The state of every bin (with ETags), a bin's history per interval, forecasts, events and alerts."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import NOW, World
from tests.api.test_access import BIN


def test_state_has_every_bin_and_an_etag(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "viewer")
    first = client.get("/v1/state", headers=h)
    rows = first.json()
    assert len(rows) == 24
    assert all(0 < r["fillingLevel"] <= 1 for r in rows)
    assert rows[0]["ts"] == (NOW - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    etag = first.headers["etag"]
    unchanged = client.get("/v1/state", headers=h | {"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    client.put("/v1/bins/extra", headers=world.auth("kalmar", "admin"), json={
        "id": "extra", "location": {"lat": 56.7, "lon": 16.3}, "fraction": "glass", "capacity_l": 600,
        "empty_distance_mm": 1000, "full_distance_mm": 100})  # fmt: skip
    changed = client.get("/v1/state", headers=h | {"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    extra = next(r for r in changed.json() if r["id"] == "extra")
    assert extra["fillingLevel"] is None  # no reading yet, but on the map


def test_history_raw_and_aggregated(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "viewer")
    start, end = (NOW - timedelta(hours=24)).isoformat(), NOW.isoformat()
    raw = client.get(
        f"/v1/bins/{BIN}/readings", params={"start": start, "end": end, "interval": "raw"}, headers=h
    )
    six = client.get(
        f"/v1/bins/{BIN}/readings", params={"start": start, "end": end, "interval": "6h"}, headers=h
    )
    points, buckets = raw.json(), six.json()
    assert len(points) == 12
    assert all(p["count"] == 1 for p in points)
    assert sum(b["count"] for b in buckets) == 12
    assert [b["ts"][11:] for b in buckets] == [
        "00:00:00Z",
        "06:00:00Z",
        "12:00:00Z",
        "18:00:00Z",
        "00:00:00Z",
    ]
    second = buckets[1]  # 07, 09 and 11 o'clock
    inside = [p["fillingLevel"] for p in points if p["ts"][11:13] in ("07", "09", "11")]
    assert second["count"] == 3
    assert second["min"] == min(inside)
    assert second["max"] == max(inside)
    assert abs(second["fillingLevel"] - sum(inside) / 3) < 1e-3
    daily = client.get(f"/v1/bins/{BIN}/readings", params={"interval": "1d"}, headers=h).json()
    assert [d["ts"][10:] for d in daily] == ["T00:00:00+01:00"] * len(daily)  # Kalmar's days, not UTC's
    tagged = client.get(f"/v1/bins/{BIN}/readings", headers=h | {"If-None-Match": six.headers["etag"]})
    assert tagged.status_code == 200  # another query, another tag
    backwards = client.get(f"/v1/bins/{BIN}/readings", params={"start": end, "end": start}, headers=h)
    assert (backwards.status_code, backwards.json()["detail"]) == (422, "start must come before end")
    naive = client.get(f"/v1/bins/{BIN}/readings", params={"start": "2026-11-20T00:00:00"}, headers=h)
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "query.start"


def test_forecasts_say_when_each_bin_is_full_and_how_sure_they_are(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "viewer")
    one = client.get(f"/v1/bins/{BIN}/forecast", headers=h).json()
    assert one["reliability"] == "high"
    assert one["rate_per_day"] > 0
    assert abs(one["rate_per_day"] - 0.004 * 24) < 0.01  # the world's first bin fills 0.4 % an hour
    slow, fast = one["rate_band_per_day"]  # the uncertainty: the rates it showed, 10 % and 90 %
    assert slow <= one["rate_per_day"] <= fast
    assert one["full_earliest"] <= one["full_at"] <= one["full_latest"]
    listed = client.get("/v1/forecasts?limit=100", headers=h).json()["items"]
    fulls = [f["full_at"] for f in listed]
    assert fulls == sorted(fulls)
    assert len(listed) == 24


def test_alerts_are_acknowledged_then_resolved(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    alerts = client.get("/v1/alerts", headers=h).json()
    assert [a["event"]["kind"] for a in alerts["items"]] == ["fire_risk", "full"]  # newest first; not emptied
    first = client.get("/v1/alerts?limit=1", headers=h).json()  # paged by the store, counted in all
    assert (len(first["items"]), first["total"], first["next"]) == (1, 2, "/v1/alerts?offset=1&limit=1")
    assert client.get(first["next"], headers=h).json()["items"][0]["event"]["kind"] == "full"
    assert client.get("/v1/events?bin_id=nope", headers=h).json()["total"] == 0
    since = (NOW - timedelta(minutes=90)).isoformat()
    assert [
        e["kind"] for e in client.get("/v1/events", params={"since": since}, headers=h).json()["items"]
    ] == ["emptied"]
    fire = alerts["items"][0]["id"]
    acked = client.post(f"/v1/alerts/{fire}/acknowledge", headers=h).json()
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_at"] is not None
    assert client.get("/v1/alerts?status=open", headers=h).json()["total"] == 1
    resolved = client.post(f"/v1/alerts/{fire}/resolve", headers=h).json()
    assert resolved["status"] == "resolved"
    again = client.post(f"/v1/alerts/{fire}/acknowledge", headers=h)
    assert (again.status_code, again.json()["detail"]) == (409, f"alert {fire} is resolved already")
    events = client.get("/v1/events?kind=emptied", headers=h).json()
    assert events["total"] == 1
    assert events["items"][0]["value"] == 0.8


def test_the_state_follows_every_new_reading_however_it_is_cached(world: World) -> None:
    from core.models import BinState

    client, h, registry = world.client, world.auth("kalmar", "viewer"), world.services.registry
    before = {r["id"]: r for r in client.get("/v1/state", headers=h).json()}
    revision, other = registry.revision("kalmar"), registry.revision("vaxjo")
    late = BinState(
        tenant="kalmar", bin_id=BIN, ts=NOW - timedelta(minutes=1), device_id="d-0", filling_level=0.93
    )
    registry.save_states([late])  # newer for this bin, older than other bins' latest: still a change
    assert registry.revision("kalmar") == revision + 1
    after = {r["id"]: r for r in client.get("/v1/state", headers=h).json()}
    assert before[BIN]["fillingLevel"] < 0.5
    assert after[BIN]["fillingLevel"] == 0.93
    registry.delete_bin("kalmar", BIN)
    assert BIN not in {r["id"] for r in client.get("/v1/state", headers=h).json()}
    assert registry.revision("vaxjo") == other  # the other tenant's cache stays
