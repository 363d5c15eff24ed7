"""A solution drawn on a map: one self-contained HTML page, Leaflet inlined (xstatic-leaflet)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import xstatic.pkg.leaflet as leaflet

from routing.problem import Problem, Solution

COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def render(problem: Problem, solution: Solution) -> str:
    """Routes as coloured lines (disposal trips included), stops, facilities and the depot."""
    where = {d.id: d.location for d in problem.depots} | {f.id: f.location for f in problem.facilities}
    where |= {s.id: s.location for s in problem.stops}
    depot = problem.depots[0]
    if depot.location is None or any(location is None for location in where.values()):
        raise ValueError("a map needs every depot, facility and stop located")
    lines = []
    for k, route in enumerate(solution.routes):
        home = [depot.location.lat, depot.location.lon]
        path = [home] + [[where[v.id].lat, where[v.id].lon] for v in route.visits] + [home]  # type: ignore[union-attr]
        label = f"{route.vehicle}: {len(route.stops)} stops, {route.distance_m / 1000:.1f} km"
        lines.append({"path": path, "colour": COLOURS[k % len(COLOURS)], "label": label})
    marks = [
        {"at": [s.location.lat, s.location.lon], "label": f"{s.id}: {s.demand}", "kind": "stop"}
        for s in problem.stops
        if s.location
    ]
    marks += [
        {"at": [f.location.lat, f.location.lon], "label": f.id, "kind": "facility"}
        for f in problem.facilities
        if f.location
    ]
    marks.append({"at": [depot.location.lat, depot.location.lon], "label": depot.id, "kind": "depot"})
    data = json.dumps({"lines": lines, "marks": marks})
    base = Path(leaflet.BASE_DIR)
    title = html.escape(
        f"{problem.name}: {solution.distance_m / 1000:.1f} km in {len(solution.routes)} routes"
    )
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{(base / "leaflet.css").read_text()}</style>
<style>html,body,#map{{height:100%;margin:0}} #title{{position:absolute;z-index:1000;top:8px;left:50px;
background:#fff;padding:4px 8px;font:14px sans-serif;border-radius:4px}}</style></head>
<body><div id="title">{title}</div><div id="map"></div>
<script>{(base / "leaflet.js").read_text()}</script>
<script>
const data = {data};
const map = L.map("map");
L.tileLayer("https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", {{maxZoom: 19,
  attribution: "&copy; OpenStreetMap contributors"}}).addTo(map);
const bounds = [];
for (const line of data.lines) {{
  L.polyline(line.path, {{color: line.colour, weight: 4, opacity: 0.8}}).bindTooltip(line.label).addTo(map);
  bounds.push(...line.path);
}}
const style = {{stop: ["#2c7fb8", 5], facility: ["#000000", 9], depot: ["#e31a1c", 9]}};
for (const mark of data.marks) {{
  const [colour, radius] = style[mark.kind];
  L.circleMarker(mark.at, {{radius, color: colour, fillOpacity: 0.9}}).bindPopup(mark.label).addTo(map);
  bounds.push(mark.at);
}}
map.fitBounds(bounds, {{padding: [20, 20]}});
</script></body></html>
"""
