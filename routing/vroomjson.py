"""VROOM's JSON problem and solution formats (github.com/VROOM-Project/vroom, docs/API.md), in and out.

In: `vehicles` (id, start, end, capacity, time_window) and `jobs` (id, location, pickup or delivery,
service) become a Problem; coordinates are [lon, lat] as VROOM writes them, and a `matrices.car`
distance matrix with `location_index` is taken as it is. What our solver cannot honour yet is
refused by name rather than dropped: several time windows on a job, shipments, skills,
priorities, several capacity dimensions. One time window per job and breaks with one window are
taken. A facility has no VROOM form: a VROOM problem has none, and trucks do not
unload on the way.
Out: a Problem as VROOM input (to hand to VROOM and compare), and a Solution as VROOM output: routes
of steps (start, job, end) with arrival, load and distance; a trip to unload is a step of type
`facility`, which VROOM does not have.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from core.models import Location
from routing.matrix import straight_line
from routing.problem import Break, Depot, Problem, Solution, Stop, Vehicle

_UNSUPPORTED_JOB = ("skills", "priority")


def _location(raw: Any, what: str) -> Location:
    try:
        lon, lat = float(raw[0]), float(raw[1])
        return Location(lat=lat, lon=lon)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(f"{what}: a location is [lon, lat], not {raw!r}") from exc


def _one(amounts: Any, what: str) -> int:
    if amounts is None:
        return 0
    if not isinstance(amounts, list) or len(amounts) != 1:
        raise InvalidInput(f"{what}: one capacity dimension only (litres), not {amounts!r}")
    return int(amounts[0])


def is_vroom(doc: dict[str, Any]) -> bool:
    return "jobs" in doc and "vehicles" in doc


def problem_from_vroom(doc: dict[str, Any], *, name: str = "vroom") -> Problem:
    """A VROOM input document as a Problem; what it cannot take is refused, naming it."""
    if doc.get("shipments"):
        raise InvalidInput("VROOM shipments (pickup and delivery pairs) are not supported")
    matrix = (doc.get("matrices") or {}).get("car", {}).get("distances") or doc.get("distances")
    depots: dict[tuple[float, float] | int, Depot] = {}
    vehicles = []
    for raw in doc["vehicles"]:
        what = f"vehicle {raw.get('id')}"
        breaks = []
        for brk in raw.get("breaks") or ():
            windows = brk.get("time_windows") or []
            if len(windows) != 1:
                raise InvalidInput(f"{what}: break {brk.get('id')} needs exactly one time window")
            (earliest, latest), duration = windows[0], int(brk.get("service", 0)) or 1
            name = str(brk.get("id", "break"))
            breaks.append(Break(id=name, earliest_s=int(earliest), latest_s=int(latest), duration_s=duration))
        if "start" not in raw and "start_index" not in raw:
            raise InvalidInput(f"{what}: needs a start")
        key: tuple[float, float] | int = (
            raw["start_index"] if matrix is not None and "start_index" in raw else tuple(raw["start"])
        )
        same_end = raw.get("end", raw.get("start")) == raw.get("start")
        same_end_index = raw.get("end_index", raw.get("start_index")) == raw.get("start_index")
        if not (same_end and same_end_index):
            raise InvalidInput(f"{what}: must end where it starts (its depot)")
        if key not in depots:
            location = None if matrix is not None and "start_index" in raw else _location(raw["start"], what)
            depots[key] = Depot(id=f"depot-{len(depots) + 1}", location=location)
        window = raw.get("time_window")
        shift = int(window[1] - window[0]) if window else 24 * 3600
        vehicles.append(Vehicle(id=str(raw["id"]), capacity=_one(raw.get("capacity"), what) or 10**9,
                                depot=depots[key].id, shift_s=shift, breaks=tuple(breaks)))  # fmt: skip
    if len(depots) != 1:
        raise InvalidInput(f"vehicles start at {len(depots)} places: one depot only for now")
    stops, indices = [], []
    for raw in doc["jobs"]:
        what = f"job {raw.get('id')}"
        for field in _UNSUPPORTED_JOB:
            if raw.get(field):
                raise InvalidInput(f"{what}: {field} are not supported yet")
        demand = (
            _one(raw.get("pickup"), what) + _one(raw.get("delivery"), what) + _one(raw.get("amount"), what)
        )
        location = None if matrix is not None else _location(raw.get("location"), what)
        windows = raw.get("time_windows") or []
        if len(windows) > 1:
            raise InvalidInput(f"{what}: one time window per job for now, not {len(windows)}")
        window = (int(windows[0][0]), int(windows[0][1])) if windows else None
        stops.append(Stop(id=str(raw["id"]), location=location, demand=demand,
                          service_time_s=float(raw.get("service", 0)), time_window=window))  # fmt: skip
        indices.append(raw.get("location_index"))
    (depot_key,) = depots
    if matrix is not None:
        if any(i is None for i in indices) or not isinstance(depot_key, int):
            raise InvalidInput(
                "with a matrix, every job needs a location_index and every vehicle a start_index"
            )
        order = [depot_key, *indices]
        distances = tuple(tuple(float(matrix[a][b]) for b in order) for a in order)
        times = (doc.get("matrices") or {}).get("car", {}).get("durations")
        durations = None if times is None else tuple(tuple(float(times[a][b]) for b in order) for a in order)
    else:
        places = [depots[depot_key].location, *(s.location for s in stops)]
        distances, durations = straight_line([p for p in places if p is not None]), None
    return Problem(name=name, depots=tuple(depots.values()), vehicles=tuple(vehicles), stops=tuple(stops),
                   distance_m=distances, duration_s=durations)  # fmt: skip


def problem_to_vroom(problem: Problem) -> dict[str, Any]:
    """VROOM input for the same stops and trucks: a matrix when there is one (its facilities dropped:
    VROOM has none), coordinates otherwise."""
    d = problem.distance_m
    base = len(problem.depots) + len(problem.facilities)
    doc: dict[str, Any] = {"vehicles": [], "jobs": []}
    for k, v in enumerate(problem.vehicles, start=1):
        vehicle: dict[str, Any] = {
            "id": k,
            "description": v.id,
            "capacity": [v.capacity],
            "time_window": [0, v.shift_s],
        }
        depot = next(dp for dp in problem.depots if dp.id == v.depot)
        if d is not None:
            vehicle |= {"start_index": 0, "end_index": 0}
        elif depot.location is not None:
            vehicle |= {
                "start": [depot.location.lon, depot.location.lat],
                "end": [depot.location.lon, depot.location.lat],
            }
        if v.breaks:
            vehicle["breaks"] = [
                {
                    "id": n,
                    "description": b.id,
                    "time_windows": [[b.earliest_s, b.latest_s]],
                    "service": b.duration_s,
                }
                for n, b in enumerate(v.breaks, start=1)
            ]
        doc["vehicles"].append(vehicle)
    for n, s in enumerate(problem.stops, start=1):
        job: dict[str, Any] = {
            "id": n,
            "description": s.id,
            "pickup": [s.demand],
            "service": round(s.service_time_s),
        }
        if s.time_window is not None:
            job["time_windows"] = [list(s.time_window)]
        if d is not None:
            job["location_index"] = n
        elif s.location is not None:
            job["location"] = [s.location.lon, s.location.lat]
        doc["jobs"].append(job)
    if d is not None:
        order = [0, *(base + i for i in range(len(problem.stops)))]
        doc["matrices"] = {"car": {
            "distances": [[round(d[a][b]) for b in order] for a in order],
            "durations": [[round(problem.drive_s(a, b)) for b in order] for a in order],
        }}  # fmt: skip
    return doc


def solution_to_vroom(problem: Problem, solution: Solution) -> dict[str, Any]:
    """The plan in VROOM's output format, trips to unload as steps of type `facility`."""
    stops = {s.id: s for s in problem.stops}
    routes = []
    for r in solution.routes:
        steps: list[dict[str, Any]] = [{"type": "start", "arrival": 0, "load": [0]}]
        for v in r.visits:
            if v.kind == "stop":
                service = round(stops[v.id].service_time_s)
                steps.append(
                    {"type": "job", "id": v.id, "arrival": v.arrival_s, "service": service, "load": [v.load]}
                )
            else:
                steps.append({"type": "facility", "id": v.id, "arrival": v.arrival_s, "load": [0]})
        steps.append({"type": "end", "arrival": round(r.duration_s), "load": [0]})
        routes.append({"vehicle": r.vehicle, "cost": round(r.distance_m), "distance": round(r.distance_m),
                       "duration": round(r.duration_s), "steps": steps})  # fmt: skip
    duration = round(sum(r.duration_s for r in solution.routes))
    return {
        "code": 0,
        "summary": {
            "cost": round(solution.distance_m), "routes": len(routes), "unassigned": len(solution.dropped),
            "distance": round(solution.distance_m), "duration": duration,
            "computing_times": {"solving": round(solution.solve_s * 1000)},
        },
        "unassigned": [{"id": s} for s in solution.dropped],
        "routes": routes,
    }  # fmt: skip
