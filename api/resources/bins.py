"""Bins: CRUD, bulk import and export (CSV, GeoJSON), FIWARE; their state, readings and forecasts."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from api import csvcells
from api.auth import EDIT_BINS, READ, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from api.resources.common import Page, PagingQuery, dumps, etag_of, page, tagged
from core.errors import BinNotFound, Conflict, InvalidInput, NotFound
from core.forecast import Forecast
from core.models import AwareDatetime, Bin, BinSpec, Fraction, Id, Location, Principal
from planning.forecasting import forecasts

router = APIRouter(prefix="/v1", responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, Depends(allow(READ))]
Editor = Annotated[Principal, Depends(allow(EDIT_BINS))]

CSV_COLUMNS = (
    "id", "lat", "lon", "fraction", "capacity_l", "empty_distance_mm", "full_distance_mm", "threshold",
    "service_time_s", "district", "address",
)  # fmt: skip
CSV_EXAMPLE = (
    "id,lat,lon,fraction,capacity_l,empty_distance_mm,full_distance_mm,threshold,service_time_s,district,address\n"
    "kalmar-0880-147788-paper,56.6616,16.3616,paper,3000,1500,200,0.8,120,Centrum,Larmtorget\n"
)


def _row(b: Bin) -> dict[str, Any]:
    return {
        "id": b.id, "lat": b.location.lat, "lon": b.location.lon, "fraction": b.fraction.value,
        "capacity_l": b.capacity_l, "empty_distance_mm": b.empty_distance_mm,
        "full_distance_mm": b.full_distance_mm, "threshold": b.threshold, "service_time_s": b.service_time_s,
        "district": b.district, "address": b.address,
    }  # fmt: skip


@router.get("/bins", tags=["bins"], summary="the tenant's bins, filtered, a page at a time")
def list_bins(
    request: Request, ctx: Ctx, who: Reader, paging: PagingQuery,
    fraction: Fraction | None = None, district: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[Bin]:  # fmt: skip
    found = [
        b for b in ctx.registry.bins(tenant_of(who))
        if (fraction is None or b.fraction is fraction) and (district is None or b.district == district)
    ]  # fmt: skip
    return Page[Bin].model_validate(page(request, found, paging))


@router.post("/bins", tags=["bins"], status_code=201, summary="add a bin", responses=responses(409, 422))
def create_bin(spec: BinSpec, ctx: Ctx, who: Editor) -> Bin:
    tenant = tenant_of(who)
    try:
        ctx.registry.bin(tenant, spec.id)
    except BinNotFound:
        ctx.registry.save_bins([Bin(tenant=tenant, **spec.model_dump())])
        return ctx.registry.bin(tenant, spec.id)
    raise Conflict(f"bin {spec.id!r} exists already")


@router.get("/bins/{bin_id}", tags=["bins"], responses=responses(404))
def get_bin(bin_id: Id, ctx: Ctx, who: Reader) -> Bin:
    return ctx.registry.bin(tenant_of(who), bin_id)


@router.put("/bins/{bin_id}", tags=["bins"], summary="create or replace a bin", responses=responses(422))
def put_bin(bin_id: Id, spec: BinSpec, ctx: Ctx, who: Editor) -> Bin:
    if spec.id != bin_id:
        raise InvalidInput(f"body.id {spec.id!r} differs from the path's {bin_id!r}")
    ctx.registry.save_bins([Bin(tenant=tenant_of(who), **spec.model_dump())])
    return ctx.registry.bin(tenant_of(who), bin_id)


@router.delete("/bins/{bin_id}", tags=["bins"], status_code=204, responses=responses(404))
def delete_bin(bin_id: Id, ctx: Ctx, who: Editor) -> None:
    ctx.registry.delete_bin(tenant_of(who), bin_id)


@router.get(
    "/bins/{bin_id}/fiware", tags=["bins"], responses=responses(404),
    summary="the bin as a FIWARE WasteContainer (NGSI-LD, normalized)",
)  # fmt: skip
def fiware(bin_id: Id, ctx: Ctx, who: Reader) -> dict[str, Any]:
    tenant = tenant_of(who)
    b = ctx.registry.bin(tenant, bin_id)
    state = next(iter(ctx.registry.state_rows(tenant, bin_id)), {})
    point = {"type": "Point", "coordinates": [b.location.lon, b.location.lat]}
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:WasteContainer:{tenant}:{b.id}",
        "type": "WasteContainer",
        "location": {"type": "GeoProperty", "value": point},
        "binCapacity": {"type": "Property", "value": b.capacity_l, "unitCode": "LTR"},
        "storedWasteKind": {"type": "Property", "value": [b.fraction.value]},
        "binFullnessThreshold": {"type": "Property", "value": b.threshold},
        "@context": ["https://smartdatamodels.org/context.jsonld"],
    }  # fmt: skip
    if b.address:
        entity["address"] = {
            "type": "Property",
            "value": {"streetAddress": b.address, "addressLocality": b.district},
        }
    if state.get("ts") is not None:
        observed = state["ts"].isoformat()
        entity["fillingLevel"] = {"type": "Property", "value": state["filling_level"], "observedAt": observed}
        if state["temperature_c"] is not None:
            entity["temperature"] = {"type": "Property", "value": state["temperature_c"], "unitCode": "CEL",
                                     "observedAt": observed}  # fmt: skip
    if state.get("date_last_emptying") is not None:
        entity["dateLastEmptying"] = {"type": "Property", "value": state["date_last_emptying"].isoformat()}
    return entity


# bulk


@router.get(
    "/exports/bins.csv", tags=["bins"], summary="every bin as CSV (the import's columns)",
    responses={200: {"content": {"text/csv": {"example": CSV_EXAMPLE}}}},
)  # fmt: skip
def export_csv(ctx: Ctx, who: Reader) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csvcells.rows(_row(b) for b in ctx.registry.bins(tenant_of(who))))
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.get("/exports/bins.geojson", tags=["bins"], summary="every bin as a GeoJSON FeatureCollection")
def export_geojson(ctx: Ctx, who: Reader) -> Response:
    features = []
    for b in ctx.registry.bins(tenant_of(who)):
        properties = {k: v for k, v in _row(b).items() if k not in ("lat", "lon")}
        geometry = {"type": "Point", "coordinates": [b.location.lon, b.location.lat]}
        features.append({"type": "Feature", "id": b.id, "geometry": geometry, "properties": properties})
    body = {"type": "FeatureCollection", "features": features}
    return Response(orjson.dumps(body), media_type="application/geo+json")


class Imported(BaseModel):
    imported: int = Field(description="bins created or replaced")


def _parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("id", "lat", "lon", "fraction") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"the CSV lacks the column(s) {', '.join(missing)}")
    return [{k: v for k, v in row.items() if k and v not in (None, "")} for row in reader]


def _parse_geojson(raw: bytes) -> list[dict[str, Any]]:
    try:
        doc = orjson.loads(raw)
        features = doc["features"]
        rows = []
        for f in features:
            lon, lat = f["geometry"]["coordinates"][:2]
            rows.append({"id": f.get("id"), **f.get("properties", {}), "lat": lat, "lon": lon})
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"not a GeoJSON FeatureCollection of Points: {exc}") from exc
    return rows


@router.post(
    "/imports/bins", tags=["bins"], responses=responses(415, 422),
    summary="create or replace many bins from CSV (text/csv) or GeoJSON (application/geo+json); all or none",
    openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "application/geo+json": {"schema": {"type": "object"}},
    }}},
)  # fmt: skip
async def import_bins(request: Request, ctx: Ctx, who: Editor) -> Imported:
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    raw = await request.body()
    if kind == "text/csv":
        try:
            rows = _parse_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise InvalidInput("the CSV is not UTF-8") from exc
    elif kind in ("application/geo+json", "application/json"):
        rows = _parse_geojson(raw)
    else:
        raise HTTPException(415, "send text/csv or application/geo+json")
    tenant, bins = tenant_of(who), []
    for n, row in enumerate(rows, start=1):
        try:
            location = Location(lat=row.pop("lat"), lon=row.pop("lon"))
            bins.append(Bin.model_validate({**row, "tenant": tenant, "location": location}))
        except (ValidationError, KeyError) as exc:
            raise InvalidInput(f"row {n} ({row.get('id', '?')}): {_first_error(exc)}") from exc
    ids = [b.id for b in bins]
    if len(set(ids)) != len(ids):
        raise InvalidInput("the import names a bin twice")
    ctx.registry.save_bins(bins)
    return Imported(imported=len(bins))


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
    return f"missing {exc}"


# state, readings, forecasts


class BinNow(BaseModel):
    id: str
    fraction: Fraction
    district: str
    address: str
    lat: float
    lon: float
    capacity_l: float
    threshold: float = Field(alias="binFullnessThreshold")
    fillingLevel: float | None = None
    ts: datetime | None = Field(None, description="when it was read")
    temperature: float | None = None
    battery_v: float | None = None
    tilt_deg: float | None = None
    device_id: str | None = None
    dateLastEmptying: datetime | None = None


def _state_item(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"], "fraction": r["fraction"], "district": r["district"], "address": r["address"],
        "lat": r["lat"], "lon": r["lon"], "capacity_l": r["capacity_l"],
        "binFullnessThreshold": r["threshold"],
        "fillingLevel": r["filling_level"], "ts": r["ts"], "temperature": r["temperature_c"],
        "battery_v": r["battery_v"], "tilt_deg": r["tilt_deg"], "device_id": r["device_id"],
        "dateLastEmptying": r["date_last_emptying"],
    }  # fmt: skip


@router.get(
    "/state", tags=["readings"], response_model=list[BinNow],
    summary="every bin of the tenant with its latest reading (ETag: send If-None-Match)",
)  # fmt: skip
def state(request: Request, ctx: Ctx, who: Reader) -> Response:
    tenant = tenant_of(who)
    revision = ctx.registry.revision(tenant)  # read first: a change after it only makes the cache older
    cached = ctx.cache.get(("state", tenant))
    if cached is None or cached[0] != revision:
        # one request rebuilds; the others meanwhile get the map as it was a moment ago
        lock = ctx.lock(("state", tenant))
        if lock.acquire(blocking=cached is None):
            try:
                cached = ctx.cache.get(("state", tenant))
                if cached is None or cached[0] != revision:
                    body = dumps([_state_item(r) for r in ctx.registry.state_rows(tenant)])
                    cached = (revision, etag_of(body), body)
                    ctx.cache["state", tenant] = cached
            finally:
                lock.release()
    assert cached is not None
    return tagged(request, cached[2], etag=cached[1])


class Interval(StrEnum):
    RAW = "raw"
    M15 = "15m"
    H1 = "1h"
    H6 = "6h"
    D1 = "1d"


_SECONDS = {Interval.M15: 900, Interval.H1: 3600, Interval.H6: 6 * 3600}


class Point(BaseModel):
    ts: datetime = Field(description="the reading's time, or its interval's start")
    fillingLevel: float = Field(description="the mean over the interval")
    min: float
    max: float
    count: int
    temperature: float | None = None


@router.get(
    "/bins/{bin_id}/readings", tags=["readings"], response_model=list[Point], responses=responses(404, 422),
    summary="a bin's readings, raw or aggregated per interval (ETag: send If-None-Match)",
)  # fmt: skip
def readings(
    request: Request, bin_id: Id, ctx: Ctx, who: Reader,
    start: Annotated[AwareDatetime | None, Query(description="default: 7 days before `end`")] = None,
    end: Annotated[AwareDatetime | None, Query(description="default: now")] = None,
    interval: Interval = Interval.H1,
) -> Response:  # fmt: skip
    tenant = tenant_of(who)
    ctx.registry.bin(tenant, bin_id)
    end = end or ctx.clock()
    start = start or end - timedelta(days=7)
    if start >= end:
        raise InvalidInput("start must come before end")
    if end - start > timedelta(days=400):
        raise InvalidInput("ask for at most 400 days at once")
    found = ctx.store.readings(tenant, bin_id=bin_id, start=start, end=end)
    zone = ZoneInfo(ctx.registry.tenant(tenant).timezone)
    buckets: dict[datetime, list[tuple[float, float | None]]] = defaultdict(list)
    for r in found:
        buckets[_bucket(r.ts, interval, zone)].append((r.filling_level, r.temperature_c))
    points = []
    for ts in sorted(buckets):
        fills = [f for f, _ in buckets[ts]]
        temps = [c for _, c in buckets[ts] if c is not None]
        points.append({
            "ts": ts, "fillingLevel": round(sum(fills) / len(fills), 4), "min": min(fills), "max": max(fills),
            "count": len(fills), "temperature": round(sum(temps) / len(temps), 2) if temps else None,
        })  # fmt: skip
    return tagged(request, dumps(points))


def _bucket(ts: datetime, interval: Interval, zone: ZoneInfo) -> datetime:
    if interval is Interval.RAW:
        return ts
    if interval is Interval.D1:  # the tenant's local day
        local = ts.astimezone(zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    step = _SECONDS[interval]
    return datetime.fromtimestamp(ts.timestamp() // step * step, tz=ts.tzinfo)


@router.get("/bins/{bin_id}/forecast", tags=["forecasts"], responses=responses(404))
def forecast(bin_id: Id, ctx: Ctx, who: Reader) -> Forecast:
    tenant = tenant_of(who)
    found = forecasts(ctx.registry, ctx.store, tenant, ctx.clock(), [ctx.registry.bin(tenant, bin_id)])
    if bin_id not in found:
        raise NotFound(f"bin {bin_id!r} has no readings in two weeks: no forecast")
    return found[bin_id]


@router.get("/forecasts", tags=["forecasts"], summary="every bin's forecast, soonest full first")
def list_forecasts(request: Request, ctx: Ctx, who: Reader, paging: PagingQuery) -> Page[Forecast]:
    found = forecasts(ctx.registry, ctx.store, tenant_of(who), ctx.clock())
    far = datetime.max.replace(tzinfo=ctx.clock().tzinfo)
    ordered = sorted(found.values(), key=lambda f: (f.full_at or far, f.bin_id))
    return Page[Forecast].model_validate(page(request, ordered, paging))
