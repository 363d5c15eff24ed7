"""The day under way: where trucks are, what drivers reported, the plan retimed to it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from core.models import (
    Bin,
    Location,
    Outcome,
    OutcomeStatus,
    Plan,
    PlannedRoute,
    PlannedVisit,
)
from core.operations import CO2_KG_PER_KM
from planning.fleet import FleetSpec
from planning.roads import road_matrices


class Underway(NamedTuple):
    """A truck during its day: where it is, since when, and what it carries."""

    location: Location
    since: datetime
    load_l: int


def underway(plan: Plan, outcomes: Iterable[Outcome]) -> dict[str, Underway]:
    """Where each truck of a plan is by its drivers' reports: at its last reported bin, when reported,
    carrying what it collected since it last unloaded (as planned: the bins' predicted fill)."""
    reported = {o.bin_id: o for o in outcomes if o.plan_id == plan.id}
    out = {}
    for route in plan.routes:
        done = [v for v in route.visits if v.kind == "bin" and v.id in reported]
        if not done:
            continue
        last = max(done, key=lambda v: v.seq)
        load = before = 0
        for v in route.visits:
            if v.seq > last.seq:
                break
            if v.kind == "facility":
                load = before = 0
                continue
            if v.id in reported and reported[v.id].status is OutcomeStatus.COLLECTED:
                load += max(0, v.load_l - before)
            before = v.load_l
        out[route.vehicle] = Underway(last.location, max(reported[v.id].at for v in done), load)
    return out


def without_reported(
    plan: Plan, replaced: Plan, outcomes: Sequence[Outcome], fleet: FleetSpec, bins: Mapping[str, Bin]
) -> tuple[tuple[PlannedRoute, ...], tuple[str, ...]]:
    """A re-plan's routes as it is dispatched: the bins drivers reported on the plan it replaces since
    it was made leave them, and a route that lost bins, or whose truck reported since, is timed again
    from where its truck is now (its latest report) or else from where the re-plan set it off; its km
    from there. (routes, bins gone)"""
    reported = {o.bin_id for o in outcomes}
    gone = sorted(reported & {v.id for r in plan.routes for v in r.visits if v.kind == "bin"})
    now_at = underway(replaced, outcomes)
    then = underway(replaced, [o for o in outcomes if o.at <= plan.created_at])
    moved = {k for k, here in now_at.items() if k not in then or here.since > then[k].since}
    vehicles = {v.id: v for v in fleet.vehicles}
    depots = {d.id: d.location for d in fleet.depots}
    routes = []
    for route in plan.routes:
        kept = tuple(v for v in route.visits if v.kind != "bin" or v.id not in gone)
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None or not kept or (len(kept) == len(route.visits) and route.vehicle not in moved):
            routes.append(route.model_copy(update={"visits": kept}))
            continue
        shift_start = datetime.combine(plan.day, vehicle.shift_start, tzinfo=route.visits[0].arrival.tzinfo)
        if vehicle.id in moved:  # from its latest report
            here = now_at[vehicle.id]
            origin, depart, load = here.location, max(here.since, shift_start), here.load_l
        elif vehicle.id in then:  # as the re-plan set it off: from its last report, when the plan was made
            here = then[vehicle.id]
            origin, depart, load = here.location, max(here.since, plan.created_at, shift_start), here.load_l
        else:  # no report at all: from its depot when the re-plan was made, carrying nothing
            origin, depart, load = depots[vehicle.depot], max(plan.created_at, shift_start), 0
        routes.append(retimed(route, kept, fleet, bins, origin=origin, depart=depart, load_l=load,
                              home=depots[vehicle.depot], shift_start=shift_start))  # fmt: skip
    return tuple(routes), tuple(gone)


def retimed(
    route: PlannedRoute, kept: Sequence[PlannedVisit], fleet: FleetSpec, bins: Mapping[str, Bin], *,
    origin: Location, depart: datetime, load_l: int, home: Location, shift_start: datetime,
) -> PlannedRoute:  # fmt: skip
    """`route` with only the visits `kept`, driven from `origin` at `depart` carrying `load_l` and home
    at the end: each arrival, load and break again (a break after the same stop as before), its km,
    and its hours from `shift_start`."""
    metres, seconds = road_matrices(fleet, [origin, *(v.location for v in kept), home])
    speed = fleet.speed_kmh / 3.6

    def drive(a: int, b: int) -> float:
        return seconds[a][b] if seconds is not None else metres[a][b] / speed

    unload = {f.id: f.unload_s for f in fleet.facilities}
    # each bin's share of the load, and each break's place: after the last stop planned before it
    carried = {}
    before = 0
    for v in route.visits:
        carried[v.seq] = max(0, v.load_l - before) if v.kind == "bin" else 0
        before = v.load_l
    taken = [b for b in route.breaks if b.end <= depart]  # before it set off from there: as they were
    after = {
        b.id: max((n for n, v in enumerate(kept) if v.arrival <= b.start), default=-1)
        for b in route.breaks
        if b not in taken
    }
    local = route.visits[0].arrival.tzinfo if route.visits else depart.tzinfo
    clock, distance, visits, breaks = depart.astimezone(local), 0.0, [], list(taken)

    def pause(n: int) -> None:
        nonlocal clock
        for b in route.breaks:
            if after.get(b.id) == n:
                breaks.append(b.model_copy(update={"start": clock, "end": clock + (b.end - b.start)}))
                clock += b.end - b.start

    pause(-1)
    for n, v in enumerate(kept):
        clock += timedelta(seconds=drive(n, n + 1))
        distance += metres[n][n + 1]
        load_l = 0 if v.kind == "facility" else load_l + carried[v.seq]
        visits.append(v.model_copy(update={"seq": n, "arrival": clock, "load_l": load_l}))
        served = bins[v.id].service_time_s if v.id in bins else 0.0
        clock += timedelta(seconds=unload.get(v.id, 0.0) if v.kind == "facility" else served)
        pause(n)
    clock += timedelta(seconds=drive(len(kept), len(kept) + 1))
    distance += metres[len(kept)][len(kept) + 1]
    return route.model_copy(update={
        "visits": tuple(visits), "breaks": tuple(breaks), "distance_m": round(distance, 1),
        "duration_s": max(0.0, (clock - shift_start).total_seconds()),
        "co2_kg": round(distance / 1000 * CO2_KG_PER_KM, 1),
    })  # fmt: skip
