"""A route as GPX 1.1 (gpxpy), GeoJSON and CSV, and a QR code that opens it on a phone."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import gpxpy.gpx
import orjson
import segno

from api import csvcells
from core.models import Plan, PlannedRoute

CSV_COLUMNS = (
    "seq",
    "kind",
    "id",
    "fraction",
    "address",
    "lat",
    "lon",
    "arrival",
    "load_l",
    "predicted_fill",
)


def _name(plan: Plan, route: PlannedRoute) -> str:
    return f"{plan.tenant} {plan.day.isoformat()} plan {plan.id} route {route.index} ({route.vehicle})"


def gpx(plan: Plan, route: PlannedRoute) -> str:
    """A GPX 1.1 route: one point per stop in order, named by bin or facility."""
    doc = gpxpy.gpx.GPX()
    doc.creator = "Tömning"
    out = gpxpy.gpx.GPXRoute(name=_name(plan, route), number=route.index)
    for v in route.visits:
        point = gpxpy.gpx.GPXRoutePoint(
            latitude=v.location.lat, longitude=v.location.lon, time=v.arrival, name=v.id,
            comment=v.address or None, description=f"{v.seq + 1}. {v.kind} {v.id}",
        )  # fmt: skip
        point.type = "facility" if v.kind == "facility" else (v.fraction.value if v.fraction else "bin")
        out.points.append(point)
    doc.routes.append(out)
    return doc.to_xml(version="1.1")


def geojson(plan: Plan, route: PlannedRoute) -> bytes:
    """The route as a line and its stops as points."""
    line = [[v.location.lon, v.location.lat] for v in route.visits]
    features: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
        "properties": {"name": _name(plan, route), "vehicle": route.vehicle, "distance_m": route.distance_m,
                       "duration_s": route.duration_s, "co2_kg": route.co2_kg,
                       "breaks": [b.model_dump(mode="json") for b in route.breaks]},
    }]  # fmt: skip
    for v in route.visits:
        properties = v.model_dump(mode="json", exclude={"location"}, exclude_none=True)
        geometry = {"type": "Point", "coordinates": [v.location.lon, v.location.lat]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return orjson.dumps({"type": "FeatureCollection", "features": features})


def csv_text(route: PlannedRoute) -> str:
    """The route sheet: a row per stop in order, and the driver's breaks (kind "break", where they
    fall, `arrival` their start) among them, at the place of the visit before (taken on leaving it;
    one before the first visit, at the depot, has no lat/lon)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    breaks = sorted(route.breaks, key=lambda b: b.start)
    where: dict[str, object] = {"lat": "", "lon": ""}

    def pause(upto: datetime | None) -> None:
        while breaks and (upto is None or breaks[0].start < upto):
            b = breaks.pop(0)
            row = {"kind": "break", "id": b.id, "arrival": b.start.isoformat()}
            writer.writerow(dict.fromkeys(CSV_COLUMNS, "") | where | row)

    for v in route.visits:
        pause(v.arrival)
        where = {"lat": v.location.lat, "lon": v.location.lon}
        writer.writerow({
            "seq": v.seq + 1, "kind": v.kind, "id": v.id, "fraction": v.fraction.value if v.fraction else "",
            "address": csvcells.cell(v.address), "lat": v.location.lat, "lon": v.location.lon,
            "arrival": v.arrival.isoformat(), "load_l": v.load_l,
            "predicted_fill": "" if v.predicted_fill is None else v.predicted_fill,
        })  # fmt: skip
    pause(None)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=2)
    return out.getvalue()
