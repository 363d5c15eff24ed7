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
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, field_validator, model_validator

from core.daysoff import holidays_in, known_country, public_holidays
from core.errors import Conflict, InvalidInput
from core.fillmodel import BinKind, kind_of
from core.forecast import Forecast, Reliability, estimate, fraction_rates, learn_rhythm
from core.models import (
    AlertStatus,
    Bin,
    EventKind,
    Fraction,
    Frozen,
    LeftOut,
    LocalTime,
    Location,
    Measurement,
    Outcome,
    OutcomeStatus,
    Plan,
    PlanChoices,
    PlannedBreak,
    PlannedRoute,
    PlannedVisit,
    PlanStatus,
)
from core.operations import CO2_KG_PER_KM, forecast_points
from core.registry import Registry
from core.timeseries import TimeSeriesStore
from routing.decompose import solve_large
from routing.matrix import straight_line
from routing.osrm import OsrmTable, Tile
from routing.problem import Break, Depot, Facility, Problem, Route, Solution, Stop, Vehicle, Visit

HISTORY = timedelta(days=14)
DEFAULT_RATE_PER_DAY = 0.12  # a bin with no history of its own, and none in its fraction either
PENALTY_M_PER_FILL = 5000.0  # an optional bin at 60 % is worth a 3 km detour
# a due bin is left out only when the trucks cannot take it at all: a plan with the rest and a reason,
# rather than no plan
DUE_PENALTY_M = 10_000_000.0
URGENT_PENALTY_M = 100 * DUE_PENALTY_M  # a fire risk is left behind last of all


class PlaceSpec(Frozen):
    id: str = Field(min_length=1, max_length=63)
    location: Location


class FacilitySpec(PlaceSpec):
    unload_s: float = Field(default=900.0, ge=0, le=4 * 3600)
    unload_cost_m: float = Field(default=2000.0, ge=0)
    opens: LocalTime | None = Field(
        None, description="local time the tip opens for trucks (with `closes`; none: always)"
    )
    closes: LocalTime | None = Field(None, description="local time it closes: no unloading after")

    @model_validator(mode="after")
    def _hours(self) -> FacilitySpec:
        if (self.opens is None) != (self.closes is None):
            raise ValueError(f"facility {self.id!r}: give both opens and closes, or neither")
        if self.opens is not None and self.closes is not None and self.closes <= self.opens:
            raise ValueError(f"facility {self.id!r}: closes {self.closes} is not after opens {self.opens}")
        return self

    def opening_after(self, origin: datetime) -> tuple[int, int] | None:
        """Its hours on `origin`'s day as seconds after `origin`, as the solver takes them."""
        if self.opens is None or self.closes is None:
            return None
        at = [
            datetime.combine(origin.date(), moment, tzinfo=origin.tzinfo)
            for moment in (self.opens, self.closes)
        ]
        return round((at[0] - origin).total_seconds()), round((at[1] - origin).total_seconds())


class BreakSpec(Frozen):
    """A break its driver takes every day, starting within a window of local clock times."""

    id: str = Field(default="lunch", min_length=1, max_length=63)
    earliest: LocalTime = Field(description="local time from which it may start")
    latest: LocalTime = Field(description="local time by which it starts")
    minutes: int = Field(gt=0, le=240)

    @model_validator(mode="after")
    def _window(self) -> BreakSpec:
        if self.latest < self.earliest:
            raise ValueError(f"break {self.id!r}: latest {self.latest} is before earliest {self.earliest}")
        return self


class VehicleSpec(Frozen):
    id: str = Field(min_length=1, max_length=63)
    capacity_l: int = Field(gt=0, le=200_000, description="litres of waste as it lies in the bins")
    depot: str
    shift_start: LocalTime = time(6, 0)
    shift_s: int = Field(default=8 * 3600, gt=0, le=24 * 3600)
    driver: str | None = Field(default=None, description="who drives it: a driver's username")
    fractions: tuple[Fraction, ...] = Field(default=(), description="what it collects; empty: any")
    fixed_cost_m: float = Field(
        default=15_000.0,
        ge=0,
        description="taking it out costs as much as driving this far: fewer trucks when it pays",
    )
    breaks: tuple[BreakSpec, ...] = Field(
        default=(),
        description="its driver's breaks, e.g. 30 minutes' lunch starting between 10:30 and 11:00 (in "
        "Sweden a break comes after five hours' work at the latest); planned on the route, in its hours",
    )

    @model_validator(mode="after")
    def _breaks_in_shift(self) -> VehicleSpec:
        for b in self.breaks:
            earliest, latest = self._into_shift(b.earliest), self._into_shift(b.latest)
            if not earliest <= latest <= self.shift_s:
                raise ValueError(
                    f"vehicle {self.id!r}: break {b.id!r} ({b.earliest} to {b.latest}) lies outside "
                    f"its shift ({self.shift_start} for {self.shift_s / 3600:g} h)"
                )
        return self

    def _into_shift(self, moment: time) -> int:
        """Seconds from the shift's start to `moment` (its shift may run past midnight)."""
        start = datetime.combine(date.min, self.shift_start)
        return round((datetime.combine(date.min, moment) - start).total_seconds()) % 86_400

    def break_windows(self, after_s: int = 0) -> tuple[Break, ...]:
        """Its breaks in seconds after its shift starts (plus `after_s`: a problem's clock may start with
        an earlier shift), as the solver takes them."""
        return tuple(
            Break(id=b.id, earliest_s=after_s + self._into_shift(b.earliest),
                  latest_s=after_s + self._into_shift(b.latest), duration_s=b.minutes * 60)
            for b in self.breaks
        )  # fmt: skip


class FleetSpec(Frozen):
    """A tenant's depots, disposal facilities and trucks: what every plan routes with."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "depots": [{"id": "depot", "location": {"lat": 56.6745, "lon": 16.322}}],
        "facilities": [{"id": "moskogen", "location": {"lat": 56.6827, "lon": 16.2353}, "unload_s": 900}],
        "vehicles": [{"id": "truck-1", "capacity_l": 40000, "depot": "depot", "shift_start": "06:00:00",
                      "shift_s": 28800, "driver": "anna", "fractions": ["paper", "plastic"],
                      "breaks": [{"id": "lunch", "earliest": "10:30", "latest": "11:00", "minutes": 30}]}],
    }]})  # fmt: skip

    depots: tuple[PlaceSpec, ...] = Field(min_length=1)
    facilities: tuple[FacilitySpec, ...] = Field(min_length=1, description="where trucks unload")
    vehicles: tuple[VehicleSpec, ...] = Field(min_length=1)
    speed_kmh: float = Field(default=30.0, gt=0, le=120)
    optional_from: float = Field(default=0.85, ge=0, le=1, description="fill from which a bin may come along")
    workdays: tuple[int, ...] = Field(
        default=(0, 1, 2, 3, 4), min_length=1, description="weekdays trucks run, Monday 0"
    )
    holidays: str | None = Field(
        default="SE",
        description="country (ISO 3166-1 alpha-2) on whose public holidays trucks do not run, nor on the "
        "eves most take off there (in Sweden: Midsummer, Christmas and New Year's Eve); null: no holidays",
    )
    closed_days: tuple[date, ...] = Field(
        default=(), description="further days without collection (a depot closed, a strike)"
    )
    extra_days: tuple[date, ...] = Field(
        default=(),
        description="days the trucks run although a weekend or a holiday (a Saturday before Christmas)",
    )
    max_interval_days: dict[Fraction, float] = Field(
        default_factory=dict, description="rules: a fraction emptied at least this often, e.g. {food: 14}"
    )
    min_interval_days: dict[Fraction, float] = Field(
        default_factory=dict,
        description="not taken along early (optional) sooner than this after an emptying",
    )
    osrm_url: str | None = Field(
        default=None, description="road distances from this OSRM server (/table); straight lines when unset"
    )
    safety: float = Field(
        default=1.0,
        ge=1,
        le=3,
        description="a bin is mandatory if it fills this much faster than forecast and ...",
    )
    optional_penalty_m: float = Field(
        default=PENALTY_M_PER_FILL,
        ge=0,
        description="what leaving an optional bin costs, per unit of fill (m)",
    )
    due_at_rate: Literal["forecast", "fastest"] = Field(
        default="forecast",
        description="a bin is mandatory when it would cross its threshold before the next collection "
        "at its forecast rate, or ('fastest') at the fastest rate its band allows: fewer overflows, "
        "emptier bins at emptying",
    )
    auto_replan: bool = Field(
        default=False,
        description="a fire risk at a bin off today's dispatched plan re-plans the rest of the day and "
        "dispatches it (`tomning scheduler`); off: the dispatcher re-plans",
    )

    @field_validator("workdays")
    @classmethod
    def _weekdays(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= d <= 6 for d in days):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return days

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, country: str | None) -> str | None:
        if country is not None and not known_country(country):
            raise ValueError(f"no holiday calendar for {country!r}: an ISO 3166-1 alpha-2 code such as 'SE'")
        return country.upper() if country else None

    @model_validator(mode="after")
    def _known_depots(self) -> FleetSpec:
        depots = {d.id for d in self.depots}
        for v in self.vehicles:
            if v.depot not in depots:
                raise ValueError(f"vehicle {v.id!r} starts at unknown depot {v.depot!r}")
        return self


def saved_fleet(registry: Registry, tenant: str) -> FleetSpec | None:
    """The tenant's fleet, if it has saved one."""
    doc = registry.fleet(tenant)
    return FleetSpec.model_validate(doc) if doc is not None else None


def fleet_of(registry: Registry, tenant: str) -> FleetSpec:
    """The tenant's fleet; without one there is nothing to plan with (409)."""
    if (fleet := saved_fleet(registry, tenant)) is None:
        raise Conflict("the tenant has no fleet: PUT /v1/fleet (depots, facilities, trucks) before planning")
    return fleet


def forecasts(
    registry: Registry, store: TimeSeriesStore, tenant: str, now: datetime, bins: Sequence[Bin] | None = None
) -> dict[str, Forecast]:
    """Every bin's forecast from its last two weeks of readings; bins without readings have none."""
    chosen = list(bins) if bins is not None else registry.bins(tenant)
    history = store.fill_levels(tenant, start=now - HISTORY, end=now + timedelta(minutes=5))
    # a driver's collection empties the bin, whether or not its sensor has spoken since
    emptied: dict[str, datetime] = {}
    for o in registry.outcomes(tenant, since=now - HISTORY):
        if o.status is OutcomeStatus.COLLECTED and o.at <= now:
            emptied[o.bin_id] = max(o.at, emptied.get(o.bin_id, o.at))
    zone = ZoneInfo(registry.tenant(tenant).timezone)
    fleet = saved_fleet(registry, tenant)
    country = fleet.holidays if fleet is not None else FleetSpec.model_fields["holidays"].default
    return forecast_all(chosen, history, emptied, now, zone, holidays=holidays_around(country, now.date()))


def forecast_all(
    bins: Sequence[Bin],
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    emptied: Mapping[str, datetime],
    now: datetime,
    zone: ZoneInfo,
    *,
    holidays: Iterable[date] = (),
) -> dict[str, Forecast]:
    """Forecasts from readings (`history`) and known collections (`emptied`), on the weekly rhythm
    each kind of bin shows in those readings (`holidays` on Sunday's); a bin with little history of
    its own borrows its fraction's median rate."""
    days_off = tuple(holidays)
    rhythms = {
        kind: learn_rhythm((history.get(b.id, ()) for b in bins if kind_of(b) is kind), zone, days_off)
        for kind in BinKind
    }
    runs: dict[str, Sequence[tuple[datetime, float]]] = {}
    for b in bins:
        points = history.get(b.id, ())
        if b.id in emptied:
            at = emptied[b.id]
            points = [p for p in points if p[0] > at] or [(at, 0.0)]
        runs[b.id] = points
    own = {
        b.id: f
        for b in bins
        if (
            f := estimate(
                b.id,
                runs[b.id],
                threshold=b.threshold,
                now=now,
                fallback_rate_per_day=0.0,
                emptied_at=emptied.get(b.id),
                rhythm=rhythms[kind_of(b)],
            )
        )
        is not None
    }
    # similar bins: the same fraction and kind in the same district when there are a few, else the same
    # fraction and kind (a street litter bin does not fill at a household bin's pace), else the fraction
    alike = {b.id: f"{b.fraction.value}/{kind_of(b).value}" for b in bins}
    borrowed = fraction_rates([(b.fraction.value, own[b.id]) for b in bins if b.id in own])
    similar = fraction_rates([(alike[b.id], own[b.id]) for b in bins if b.id in own])
    nearby = fraction_rates([(f"{alike[b.id]}@{b.district}", own[b.id]) for b in bins if b.id in own],
                            at_least=3)  # fmt: skip
    out = {}
    for b in bins:
        if b.id in own and own[b.id].reliability is not Reliability.LOW:
            out[b.id] = own[b.id]
            continue
        rate = nearby.get(
            f"{alike[b.id]}@{b.district}",
            similar.get(alike[b.id], borrowed.get(b.fraction.value, DEFAULT_RATE_PER_DAY)),
        )
        f = estimate(
            b.id,
            runs[b.id],
            threshold=b.threshold,
            now=now,
            fallback_rate_per_day=rate,
            emptied_at=emptied.get(b.id),
            rhythm=rhythms[kind_of(b)],
        )
        if f is not None:
            out[b.id] = f
    return out


def _groups(fleet: FleetSpec) -> list[tuple[frozenset[Fraction], list[VehicleSpec]]]:
    """Trucks by the fractions they carry: each group is one search, whatever depots its trucks use."""
    groups: dict[frozenset[Fraction], list[VehicleSpec]] = {}
    for v in fleet.vehicles:
        groups.setdefault(frozenset(v.fractions), []).append(v)
    return list(groups.items())


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


def forecast_band(
    tenant: str, predicted: Iterable[Forecast], now: datetime, hours: int = 48, step_h: int = 3
) -> list[Measurement]:
    """Each bin's forecast ahead with its band, the fill at its slowest and fastest likely rate
    (`forecasts`, which the bin dashboard draws)."""
    out: list[Measurement] = []
    for f in predicted:
        points = []
        for h in range(0, hours + 1, step_h):
            at = now + timedelta(hours=h)
            low, high = f.band_at(at)
            points.append((at, round(f.level_at(at), 4), round(low, 4), round(high, 4)))
        out += forecast_points(tenant=tenant, bin_id=f.bin_id, points=points)
    return out


WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


@cache
def holidays_around(country: str | None, day: date) -> tuple[date, ...]:
    """The public holidays (and eves taken off) of `country` from the year before `day` to the year
    after: the days bins fill as on a Sunday."""
    if country is None:
        return ()
    return tuple(sorted(d for year in range(day.year - 1, day.year + 2) for d in holidays_in(country, year)))


def day_off(fleet: FleetSpec, day: date, language: Literal["en", "sv"] = "en") -> str | None:
    """Why trucks do not run on `day` (a weekday off, a holiday's name, a closed day), or None."""
    if day in fleet.closed_days:
        return "stängt" if language == "sv" else "closed"
    if day in fleet.extra_days:
        return None
    named = public_holidays(fleet.holidays, "sv" if language == "sv" else "en_US") if fleet.holidays else {}
    if (name := named.get(day)) is not None:
        return str(name)
    if day.weekday() not in fleet.workdays:
        return WEEKDAYS_SV[day.weekday()] if language == "sv" else day.strftime("%A")
    return None


def next_workday(day: date, fleet: FleetSpec) -> date:
    """The first day after `day` when trucks run: weekends, holidays and closed days skipped."""
    ahead = day + timedelta(days=1)
    while day_off(fleet, ahead) is not None:
        ahead += timedelta(days=1)
    return ahead


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


def select(
    bins: Sequence[Bin],
    predicted: Mapping[str, Forecast],
    *,
    collection: datetime,
    next_collection: datetime,
    optional_from: float,
    safety: float = 1.0,
    max_interval_days: Mapping[Fraction, float] | None = None,
    min_interval_days: Mapping[Fraction, float] | None = None,
    fastest: bool = False,
) -> dict[str, tuple[Bin, float, bool]]:
    """Which bins a day collects: {bin id: (bin, fill at collection, mandatory)}.

    Mandatory: its forecast crosses its threshold before the next collection day could reach it (with
    `fastest`, at the fastest rate of its band), or its fraction's longest interval would pass first
    (a bin with no emptying seen is overdue).
    Optional (a penalty growing with its fill): at `optional_from` or more when collected today, and
    not sooner than its fraction's shortest interval after the last emptying. A bin without a forecast
    (a silent sensor, never seen emptied) comes along as if full.
    """
    longest, shortest = max_interval_days or {}, min_interval_days or {}
    stops: dict[str, tuple[Bin, float, bool]] = {}
    for b in bins:
        f = predicted.get(b.id)
        if f is None:  # a silent sensor, never seen emptied: taken along as if full, and the report tells
            stops[b.id] = (b, 1.0, False)
            continue
        fill = f.level_at(collection)
        limit = longest.get(b.fraction)
        overdue = limit is not None and (
            f.emptied_at is None or next_collection - f.emptied_at > timedelta(days=limit)
        )
        early = b.fraction in shortest and f.emptied_at is not None and (
            collection - f.emptied_at < timedelta(days=shortest[b.fraction])
        )  # fmt: skip
        ahead = f.band_at(next_collection)[1] if fastest else f.level_at(next_collection)
        if overdue or f.filling_level + (ahead - f.filling_level) * safety >= b.threshold:
            stops[b.id] = (b, fill, True)
        elif fill >= optional_from and not early:
            stops[b.id] = (b, fill, False)
    return stops


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
    for fractions, vehicles in _groups(fleet):
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


_TILES: dict[str, dict[str, Tile]] = {}  # per server: tiles kept between plans
Matrix = tuple[tuple[float, ...], ...]


def road_matrices(fleet: FleetSpec, located: Sequence[Location]) -> tuple[Matrix, Matrix | None]:
    """(metres, seconds) by road from the fleet's OSRM server when it names one; else straight lines
    with circuity, and no seconds (the solver drives them at the fleet's speed)."""
    if fleet.osrm_url is None:
        return straight_line(located), None
    with OsrmTable(fleet.osrm_url, memory=_TILES.setdefault(fleet.osrm_url, {})) as table:
        return table.matrices(located)


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
    underway, breaks_taken = underway or {}, breaks_taken or {}
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
    solution = solve_large(problem, time_limit_s=time_limit_s, warm_start=_as_solution(previous, vehicles))
    by_id = {b.id: (b, fill) for b, fill, _ in chosen}
    facilities = {f.id: f for f in fleet.facilities}
    drivers = {v.id: v.driver for v in vehicles}
    vehicle_of = {v.id: v for v in vehicles}
    due = {b.id for b, _, mandatory in chosen if mandatory}
    over = "due, but more than the trucks can collect today: a truck more or a longer shift"
    left_out += [
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
    return routes
