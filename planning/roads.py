"""Distances and times between the day's places: by road from an OSRM server, else straight lines."""

from __future__ import annotations

from collections.abc import Sequence

from core.models import Location
from planning.fleet import FleetSpec
from routing.matrix import straight_line
from routing.osrm import OsrmTable, Tile

_TILES: dict[str, dict[str, Tile]] = {}  # per server: tiles kept between plans
Matrix = tuple[tuple[float, ...], ...]


def road_matrices(fleet: FleetSpec, located: Sequence[Location]) -> tuple[Matrix, Matrix | None]:
    """(metres, seconds) by road from the fleet's OSRM server when it names one; else straight lines
    with circuity, and no seconds (the solver drives them at the fleet's speed)."""
    if fleet.osrm_url is None:
        return straight_line(located), None
    with OsrmTable(fleet.osrm_url, memory=_TILES.setdefault(fleet.osrm_url, {})) as table:
        return table.matrices(located)
