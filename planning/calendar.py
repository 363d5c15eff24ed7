"""Working days: weekdays, public holidays (and eves taken off), closed and extra days."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Literal

from core.daysoff import holidays_in, public_holidays
from planning.fleet import FleetSpec

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
