"""Road distances from a real OSRM server over Monaco's streets: tiles, caching, and a plan on them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import StoreUnavailable
from core.models import Location
from routing.matrix import haversine_m
from routing.osrm import OsrmTable
from routing.problem import Depot, Facility, Problem, Stop, Vehicle
from routing.solver import solve
from tests.harness.services import Osrm, free_port

MONACO = Path(__file__).resolve().parent / "data" / "monaco.osm.pbf"


@pytest.fixture(scope="module")
def osrm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Osrm]:
    with Osrm(tmp_path_factory.mktemp("osrm"), MONACO) as server:
        yield server  # type: ignore[misc]


def grid(n: int) -> list[Location]:
    """`n` places on Monaco's streets' bounding box, row by row."""
    side = int(n**0.5) + 1
    return [
        Location(lat=43.727 + 0.012 * (k // side) / side, lon=7.413 + 0.018 * (k % side) / side)
        for k in range(n)
    ]


def test_a_matrix_in_tiles_equals_the_one_asked_at_once_and_is_cached(osrm: Osrm, tmp_path: Path) -> None:
    places = grid(45)
    with OsrmTable(osrm.url, tile=45) as one:
        whole = one.distances(places)  # one request: 45 sources by 45 destinations
    with OsrmTable(osrm.url, tile=15, cache_dir=tmp_path) as tiled:
        assert tiled.distances(places) == whole
        assert tiled.requests == 9  # 3 x 3 tiles
    with OsrmTable(osrm.url, tile=15, cache_dir=tmp_path) as again:
        assert again.distances(places) == whole
        assert again.requests == 0  # from the disk cache
    # OSRM snaps each place to its nearest street, so one pair may come out shorter than the crow
    # flies; over all pairs, roads are longer
    road = sum(map(sum, whole))
    crow = sum(haversine_m(a, b) for a in places for b in places)
    assert road > crow
    assert min(map(min, whole)) >= 0


def test_a_plan_on_monacos_roads(osrm: Osrm) -> None:
    places = grid(20)
    with OsrmTable(osrm.url) as table:
        matrix = table.distances(places)
    problem = Problem(
        depots=(Depot(id="depot", location=places[0]),),
        facilities=(Facility(id="tip", location=places[1], unload_cost_m=500),),
        vehicles=(Vehicle(id="t", capacity=5, depot="depot"),),
        stops=tuple(Stop(id=f"b{n}", location=p, demand=1) for n, p in enumerate(places[2:])),
        distance_m=matrix,
    )
    (route,) = solve(problem, time_limit_s=1).routes
    assert len(route.stops) == 18
    assert sum(v.kind == "facility" for v in route.visits) >= 4  # 18 bins, 5 a load


def test_no_server_is_a_clear_error() -> None:
    with (
        OsrmTable(f"http://127.0.0.1:{free_port()}") as nobody,
        pytest.raises(StoreUnavailable, match="did not answer"),
    ):
        nobody.distances(grid(3))


def test_the_planner_routes_on_roads_when_the_fleet_names_an_osrm_server(osrm: Osrm) -> None:
    from planning.fleet import FacilitySpec, FleetSpec, PlaceSpec, VehicleSpec
    from planning.roads import road_matrices

    places = grid(10)
    fleet = FleetSpec(
        depots=(PlaceSpec(id="depot", location=places[0]),),
        facilities=(FacilitySpec(id="tip", location=places[1]),),
        vehicles=(VehicleSpec(id="t", capacity_l=1000, depot="depot"),),
    )
    crow, _ = road_matrices(fleet, places)
    road, _ = road_matrices(fleet.model_copy(update={"osrm_url": osrm.url}), places)
    assert road != crow
    with OsrmTable(osrm.url) as table:
        assert road == table.distances(places)


def test_driving_times_come_from_the_roads_and_set_the_arrivals(osrm: Osrm, tmp_path: Path) -> None:
    import httpx

    from core.forecast import Forecast, Reliability
    from planning.day import plan_day
    from planning.fleet import FacilitySpec, FleetSpec, PlaceSpec, VehicleSpec
    from planning.roads import road_matrices
    from tests.core.test_models import a_bin

    places = grid(12)
    fleet = FleetSpec(
        depots=(PlaceSpec(id="depot", location=places[0]),),
        facilities=(FacilitySpec(id="tip", location=places[1]),),
        vehicles=(VehicleSpec(id="t", capacity_l=100_000, depot="depot"),),
        osrm_url=osrm.url,
    )
    with OsrmTable(osrm.url, tile=5, cache_dir=tmp_path) as table:
        metres, seconds = table.matrices(places)
    assert (metres, seconds) == road_matrices(fleet, places)
    # each entry is what OSRM's own /route says for that pair
    a, b = places[2], places[7]
    route = httpx.get(f"{osrm.url}/route/v1/driving/{a.lon},{a.lat};{b.lon},{b.lat}").json()["routes"][0]
    assert seconds[2][7] == pytest.approx(route["duration"], abs=1)
    assert metres[2][7] == pytest.approx(route["distance"], abs=5)
    # the speed differs from road to road: seconds are not metres at one average speed
    pairs = [(m, s) for mr, sr in zip(metres, seconds, strict=True) for m, s in zip(mr, sr, strict=True)]
    speeds = [m / s for m, s in pairs if m > 300]
    assert max(speeds) > 1.2 * min(speeds)
    # a planned day on these roads: the first bin is reached after the road's time from the depot
    day = datetime(2026, 11, 24, tzinfo=UTC)
    bins = [a_bin(id=f"b{n}", location=p, service_time_s=0) for n, p in enumerate(places[2:])]
    full = {"made_at": day, "filling_level": 0.95, "observed_at": day, "rate_per_day": 0.1, "threshold": 0.8}
    predicted = {b.id: Forecast(bin_id=b.id, reliability=Reliability.HIGH, **full) for b in bins}  # type: ignore[arg-type]
    routes, _ = plan_day(bins, predicted, day=day.date(), zone=ZoneInfo("Europe/Stockholm"), fleet=fleet,
                         time_limit_s=1)  # fmt: skip
    first = routes[0].visits[0]
    shift = datetime.combine(day.date(), fleet.vehicles[0].shift_start, tzinfo=ZoneInfo("Europe/Stockholm"))
    index = places.index(first.location)
    assert (first.arrival - shift).total_seconds() == pytest.approx(seconds[0][index], abs=1)
