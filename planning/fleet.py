"""The fleet and its policy: depots, tips and their hours, trucks, drivers' breaks, working days."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from core.daysoff import known_country
from core.errors import Conflict
from core.models import (
    Fraction,
    Frozen,
    LocalTime,
    Location,
)
from core.registry import Registry
from routing.problem import Break

log = logging.getLogger(__name__)

PENALTY_M_PER_FILL = 5000.0  # an optional bin at 60 % is worth a 3 km detour


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
    """The tenant's fleet, if it has saved one that today's rules still take; one saved before a rule it
    breaks (a time with an offset) is logged and taken as none, so it stops no other tenant's plans."""
    doc = registry.fleet(tenant)
    if doc is None:
        return None
    try:
        return FleetSpec.model_validate(doc)
    except ValidationError as exc:
        log.error("tenant %r: its saved fleet breaks a rule, so it is not planned; PUT /v1/fleet again: %s",
                  tenant, exc)  # fmt: skip
        return None


def fleet_of(registry: Registry, tenant: str) -> FleetSpec:
    """The tenant's fleet; without one there is nothing to plan with (409)."""
    if (fleet := saved_fleet(registry, tenant)) is not None:
        return fleet
    if registry.fleet(tenant) is not None:
        raise Conflict(
            "the tenant's fleet was saved before a rule it breaks (see the log): PUT /v1/fleet again"
        )
    raise Conflict("the tenant has no fleet: PUT /v1/fleet (depots, facilities, trucks) before planning")


def groups(fleet: FleetSpec) -> list[tuple[frozenset[Fraction], list[VehicleSpec]]]:
    """Trucks by the fractions they carry: each group is one search, whatever depots its trucks use."""
    groups: dict[frozenset[Fraction], list[VehicleSpec]] = {}
    for v in fleet.vehicles:
        groups.setdefault(frozenset(v.fractions), []).append(v)
    return list(groups.items())
