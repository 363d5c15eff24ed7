"""A day's plan for a tenant: forecast each bin, select what must and what may be emptied, route it.

Selection: a bin is mandatory when its forecast crosses its threshold before the next working
day's collection could reach it (weekends, public holidays and closed days skipped), or when its
fraction's longest interval would pass; optional, with a penalty that grows with its predicted
fill, from `optional_from` (not sooner than its fraction's shortest interval); the rest wait.
Trucks are grouped by the fractions they carry, and each group is routed in one search over all
its depots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from core.errors import Conflict, InvalidInput
from core.forecast import Forecast
from core.models import (
    AlertStatus,
    Bin,
    EventKind,
    LeftOut,
    Plan,
    PlanChoices,
    PlannedBreak,
    PlannedRoute,
    PlannedVisit,
    PlanStatus,
)
from core.operations import CO2_KG_PER_KM
from core.registry import Registry
from core.timeseries import TimeSeriesStore
from planning.calendar import next_workday
from planning.fleet import FleetSpec, VehicleSpec, groups
from planning.forecasting import forecast_band, forecasts
from planning.progress import Underway, underway
from planning.roads import road_matrices
from planning.select import DUE_PENALTY_M, URGENT_PENALTY_M, select
from routing.decompose import solve_large
from routing.problem import Depot, Facility, Problem, Route, Solution, Stop, Vehicle, Visit


def make_plan(
    registry: Registry,
    store: TimeSeriesStore,
    *,
    tenant: str,
    day: date,
    fleet: FleetSpec,
    created_by: str,
    now: datetime,
    time_limit_s: float,
    replaces: int | None = None,
    choices: PlanChoices | None = None,
) -> Plan:
    """A draft plan for `day`. A re-plan (`replaces`) leaves the bins drivers reported on, and its trucks
    set off from where their reports put them; a bin with an open fire-risk alert is due. The
    dispatcher's `choices` (a re-plan keeps those of the plan it replaces unless given new ones): bins
    due whatever their fill, bins left for the day, trucks that do not run."""
    zone = ZoneInfo(registry.tenant(tenant).timezone)
    replaced = registry.plan(tenant, replaces) if replaces is not None else None
    every_bin = registry.bins(tenant)
    if choices is None:  # kept from the plan replaced: less bins and trucks gone since (no refusal then)
        kept = replaced.choices if replaced is not None else PlanChoices()
        here, trucks = {b.id for b in every_bin}, {v.id for v in fleet.vehicles}
        choices = PlanChoices(
            include=tuple(k for k in kept.include if k in here),
            exclude=tuple(k for k in kept.exclude if k in here),
            vehicles_off=tuple(k for k in kept.vehicles_off if k in trucks),
        )
    reports = registry.outcomes(tenant, plan_id=replaces) if replaced is not None else []
    skip = {o.bin_id for o in reports} | set(choices.exclude)
    fleet = _chosen(fleet, choices, {b.id for b in every_bin})
    bins = [b for b in every_bin if b.id not in skip]
    predicted = forecasts(registry, store, tenant, now, bins)
    store.write_measurements(forecast_band(tenant, predicted.values(), now))
    fires, _ = registry.alerts(tenant, status=AlertStatus.OPEN, kind=EventKind.FIRE_RISK.value, limit=1000)
    taken: dict[str, dict[str, datetime]] = defaultdict(dict)
    for b in registry.breaks_taken(tenant, day=day):
        taken[b.vehicle].setdefault(b.break_id, b.start)  # the first report of it
    routes, left_out = plan_day(
        bins, predicted, day=day, zone=zone, fleet=fleet, time_limit_s=time_limit_s,
        previous=replaced.routes if replaced else (), now=now,
        underway=underway(replaced, reports) if replaced else None,
        urgent={a.event.bin_id for a in fires if a.event.bin_id}, breaks_taken=taken, include=choices.include,
    )  # fmt: skip
    why = "left out by the dispatcher for the day"
    left_out += [LeftOut(bin_id=k, reason=why, code="dispatcher") for k in choices.exclude]
    return Plan(
        id=0, tenant=tenant, day=day, status=PlanStatus.DRAFT, created_at=now, created_by=created_by,
        routes=tuple(routes), left_out=tuple(left_out), replaces=replaces, choices=choices,
    )  # fmt: skip


def _chosen(fleet: FleetSpec, choices: PlanChoices, bins: set[str]) -> FleetSpec:
    """The fleet less the trucks the dispatcher took off; refused when a choice names no bin or truck of the
    tenant, or leaves no truck."""
    unknown = sorted((set(choices.include) | set(choices.exclude)) - bins)
    if unknown:
        raise InvalidInput(f"no such bins: {', '.join(unknown[:10])}")
    trucks = {v.id for v in fleet.vehicles}
    if stray := sorted(set(choices.vehicles_off) - trucks):
        raise InvalidInput(f"no such trucks: {', '.join(stray)} (the fleet has {', '.join(sorted(trucks))})")
    running = tuple(v for v in fleet.vehicles if v.id not in choices.vehicles_off)
    if not running:
        raise Conflict("every truck is off that day: nothing can be collected")
    return fleet.model_copy(update={"vehicles": running})


def plan_day(
    bins: Sequence[Bin], predicted: Mapping[str, Forecast], *, day: date, zone: ZoneInfo, fleet: FleetSpec,
    time_limit_s: float, previous: Sequence[PlannedRoute] = (), now: datetime | None = None,
    underway: Mapping[str, Underway] | None = None, urgent: Iterable[str] = (),
    breaks_taken: Mapping[str, Mapping[str, datetime]] | None = None, include: Iterable[str] = (),
) -> tuple[list[PlannedRoute], list[LeftOut]]:  # fmt: skip
    """Select a day's bins from their forecasts and route them, truck group by truck group.

    Planned during the day (`now` after the shifts start), trucks set off from where they are
    (`underway`: at their last reported bin, with what they carry), else from their depot, now.
    `urgent` bins (an open fire risk) and those the dispatcher `include`s are due whatever their fill
    (carried as forecast, or full without a forecast). `breaks_taken` (per truck, each
    break its driver reported begun, and when) are not planned again; a truck sets off after one
    still on."""
    start = min(datetime.combine(day, v.shift_start, tzinfo=zone) for v in fleet.vehicles)
    later = next_workday(day, fleet)
    next_start = min(datetime.combine(later, v.shift_start, tzinfo=zone) for v in fleet.vehicles)
    half_shift = timedelta(seconds=max(v.shift_s for v in fleet.vehicles) / 2)
    stops = select(
        bins, predicted, collection=start + half_shift, next_collection=next_start + half_shift,
        optional_from=fleet.optional_from, safety=fleet.safety, max_interval_days=fleet.max_interval_days,
        min_interval_days=fleet.min_interval_days, fastest=fleet.due_at_rate == "fastest",
    )  # fmt: skip
    by_id = {b.id: b for b in bins}
    for k in urgent:
        if k in by_id:
            stops[k] = (by_id[k], stops[k][1] if k in stops else 1.0, True)
    for k in include:
        if k in by_id and not (k in stops and stops[k][2]):
            f = predicted.get(k)
            fill = stops[k][1] if k in stops else f.level_at(start + half_shift) if f is not None else 1.0
            stops[k] = (by_id[k], max(0.0, min(1.0, fill)), True)
    left_out: list[LeftOut] = []
    routes: list[PlannedRoute] = []
    taken: set[str] = set()
    for fractions, vehicles in groups(fleet):
        chosen = [
            s for k, s in stops.items() if k not in taken and (not fractions or s[0].fraction in fractions)
        ]
        if not chosen:
            continue
        taken |= {s[0].id for s in chosen}
        routes += _route_group(
            fleet, vehicles, chosen, start=start, time_limit_s=time_limit_s, first_index=len(routes),
            left_out=left_out, previous=previous, now=now, underway=underway or {}, urgent=set(urgent),
            breaks_taken=breaks_taken or {},
        )  # fmt: skip
    for k, (b, _, _) in stops.items():
        if k not in taken:
            left_out.append(
                LeftOut(bin_id=k, reason=f"no vehicle collects {b.fraction.value}", code="no_vehicle")
            )
    return routes, left_out


def _as_solution(previous: Sequence[PlannedRoute], vehicles: Sequence[VehicleSpec]) -> Solution | None:
    """A plan's routes for these trucks as a routing solution: where a re-plan starts its search."""
    ours = {v.id for v in vehicles}
    routes = tuple(
        Route(
            vehicle=r.vehicle,
            visits=tuple(
                Visit(kind="stop" if v.kind == "bin" else "facility", id=v.id, load=0) for v in r.visits
            ),
            distance_m=r.distance_m,
        )
        for r in previous
        if r.vehicle in ours
    )
    return Solution(problem="previous", routes=routes, distance_m=0, solve_s=0) if routes else None


class Frame(NamedTuple):
    """How a truck group's routing problem was built, which reading its answer needs: the problem's clock
    (seconds after `origin`), each truck's shift offset and set-off, the trucks and the bins."""

    origin: datetime
    offset: dict[str, int]
    setting_off: dict[str, int]
    vehicles: list[VehicleSpec]
    chosen: list[tuple[Bin, float, bool]]


def _route_group(
    fleet: FleetSpec,
    vehicles: list[VehicleSpec],
    chosen: list[tuple[Bin, float, bool]],
    *,
    start: datetime,
    time_limit_s: float,
    first_index: int,
    left_out: list[LeftOut],
    previous: Sequence[PlannedRoute] = (),
    now: datetime | None = None,
    underway: Mapping[str, Underway] | None = None,
    urgent: set[str] | None = None,
    breaks_taken: Mapping[str, Mapping[str, datetime]] | None = None,
) -> list[PlannedRoute]:
    """One search for a group of trucks that carry the same fractions: the problem, solved, read back."""
    problem, frame = group_problem(fleet, vehicles, chosen, start=start, now=now, underway=underway or {},
                                   urgent=urgent or set(), breaks_taken=breaks_taken or {})  # fmt: skip
    solution = solve_large(
        problem, time_limit_s=time_limit_s, warm_start=_as_solution(previous, frame.vehicles)
    )
    routes, dropped = group_routes(fleet, solution, frame, first_index=first_index)
    left_out += dropped
    return routes


def group_problem(
    fleet: FleetSpec,
    vehicles: list[VehicleSpec],
    chosen: list[tuple[Bin, float, bool]],
    *,
    start: datetime,
    now: datetime | None,
    underway: Mapping[str, Underway],
    urgent: set[str],
    breaks_taken: Mapping[str, Mapping[str, datetime]],
) -> tuple[Problem, Frame]:
    """The routing problem of a truck group's day: trucks set off from their depot at their shift's start,
    or later from where a re-plan finds them; due bins carry a penalty no detour outweighs."""
    shift_of = {v.id: datetime.combine(start.date(), v.shift_start, tzinfo=start.tzinfo) for v in vehicles}
    # one clock for the problem: seconds after the earliest shift's start (a tip's hours are the same
    # for every truck); each truck's shift, set-off and breaks lie its own shift's offset later
    origin = min(shift_of.values())
    offset = {k: round((at - origin).total_seconds()) for k, at in shift_of.items()}
    ready = {
        v.id: max(now or start, underway[v.id].since) if v.id in underway else now or start for v in vehicles
    }
    for v in vehicles:  # a driver on a break sets off when it ends
        for pause in v.break_windows():
            if (began := breaks_taken.get(v.id, {}).get(pause.id)) is not None:
                ready[v.id] = max(ready[v.id], began + timedelta(seconds=pause.duration_s))
    setting_off = {  # seconds into each truck's shift when it sets off: later when planned during the day
        v.id: max(0, round((ready[v.id] - shift_of[v.id]).total_seconds())) for v in vehicles
    }
    vehicles = [v for v in vehicles if setting_off[v.id] < v.shift_s - 600]  # 10 minutes left at least
    if not vehicles:
        raise Conflict("every truck's shift is over: plan another day")
    used = {v.depot for v in vehicles}
    # the depots, then where each truck underway is now: places its trucks set off from
    origins = [(d.id, d.location) for d in fleet.depots if d.id in used]
    origins += [(f"{v.id}@now", underway[v.id].location) for v in vehicles if v.id in underway]
    depots = [Depot(id=k, location=where) for k, where in origins]
    located = [
        *(where for _, where in origins),
        *(f.location for f in fleet.facilities),
        *(b.location for b, _, _ in chosen),
    ]
    trucks = tuple(
        Vehicle(
            id=v.id, capacity=v.capacity_l, depot=v.depot, shift_s=offset[v.id] + v.shift_s,
            fixed_cost_m=v.fixed_cost_m,
            breaks=tuple(b for b in v.break_windows(offset[v.id]) if b.id not in breaks_taken.get(v.id, {})),
            start_at=f"{v.id}@now" if v.id in underway else None, start_s=offset[v.id] + setting_off[v.id],
            start_load=min(v.capacity_l, underway[v.id].load_l) if v.id in underway else 0,
        )
        for v in vehicles
    )  # fmt: skip
    stops = tuple(
        Stop(
            id=b.id,
            location=b.location,
            demand=round(b.capacity_l * fill),
            service_time_s=b.service_time_s,
            penalty_m=(URGENT_PENALTY_M if b.id in (urgent or ()) else DUE_PENALTY_M)
            if mandatory
            else fleet.optional_penalty_m * fill,
        )
        for b, fill, mandatory in chosen
    )
    metres, seconds = road_matrices(fleet, located)
    problem = Problem(
        name="+".join(sorted(v.id for v in vehicles)),
        depots=tuple(depots),
        facilities=tuple(
            Facility(
                id=f.id,
                location=f.location,
                unload_s=f.unload_s,
                unload_cost_m=f.unload_cost_m,
                opening_s=f.opening_after(origin),
            )
            for f in fleet.facilities
        ),
        vehicles=trucks,
        stops=stops,
        distance_m=metres,
        duration_s=seconds,
        speed_kmh=fleet.speed_kmh,
    )
    return problem, Frame(origin, offset, setting_off, vehicles, chosen)


def group_routes(
    fleet: FleetSpec, solution: Solution, frame: Frame, *, first_index: int
) -> tuple[list[PlannedRoute], list[LeftOut]]:
    """The search's answer as the plan's routes (times on the municipality's clock) and the bins it left
    out, each with its reason."""
    origin, offset, setting_off, vehicles, chosen = frame
    by_id = {b.id: (b, fill) for b, fill, _ in chosen}
    facilities = {f.id: f for f in fleet.facilities}
    drivers = {v.id: v.driver for v in vehicles}
    vehicle_of = {v.id: v for v in vehicles}
    due = {b.id for b, _, mandatory in chosen if mandatory}
    over = "due, but more than the trucks can collect today: a truck more or a longer shift"
    left_out = [
        LeftOut(bin_id=k, reason=over, code="over_capacity")
        if k in due
        else LeftOut(bin_id=k, reason="optional, and not worth its detour today", code="not_worth_it")
        for k in solution.dropped
    ]
    routes = []
    for n, route in enumerate(solution.routes):
        visits = []
        for seq, visit in enumerate(route.visits):
            arrival = origin + timedelta(seconds=visit.arrival_s)
            if visit.kind == "stop":
                b, fill = by_id[visit.id]
                visits.append(PlannedVisit(
                    seq=seq, kind="bin", id=b.id, location=b.location, arrival=arrival, load_l=visit.load,
                    fraction=b.fraction, address=b.address, predicted_fill=round(fill, 3),
                ))  # fmt: skip
            else:
                place = facilities[visit.id]
                visits.append(PlannedVisit(
                    seq=seq, kind="facility", id=place.id, location=place.location, arrival=arrival, load_l=0,
                ))  # fmt: skip
        lengths = {b.id: b.duration_s for b in vehicle_of[route.vehicle].break_windows()}
        breaks = tuple(
            PlannedBreak(id=k, start=origin + timedelta(seconds=at),
                         end=origin + timedelta(seconds=at + lengths[k]))
            for k, at in route.breaks
            if at >= offset[route.vehicle] + setting_off[route.vehicle]  # not one before a re-plan's set-off
        )  # fmt: skip
        routes.append(PlannedRoute(
            index=first_index + n, vehicle=route.vehicle, driver=drivers[route.vehicle],
            distance_m=round(route.distance_m, 1),
            duration_s=max(0.0, route.duration_s - offset[route.vehicle]),
            co2_kg=round(route.distance_m / 1000 * CO2_KG_PER_KM, 1), visits=tuple(visits), breaks=breaks,
        ))  # fmt: skip
    return routes, left_out
