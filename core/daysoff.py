"""Public holidays, and the eves most people take off, by country: days trucks do not run and bins
fill as on a Sunday (the `holidays` package)."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays


@cache
def public_holidays(country: str, language: str = "en_US") -> holidays.HolidayBase:
    """The country's calendar of public holidays and de facto days off (in Sweden Midsummer, Christmas
    and New Year's Eve: nobody collects bins on Christmas Eve), named in `language` where it can."""
    calendar = holidays.country_holidays(country)
    chosen = [c for c in ("public", "de_facto") if c in calendar.supported_categories]
    spoken = language if language in calendar.supported_languages else None
    return holidays.country_holidays(country, categories=chosen, language=spoken)


def known_country(country: str) -> bool:
    """Whether there is a holiday calendar for `country` (ISO 3166-1 alpha-2)."""
    return country.upper() in holidays.list_supported_countries()


@cache
def holidays_in(country: str, year: int) -> frozenset[date]:
    """The country's holidays of one year, as plain dates (quick to look a day up in)."""
    calendar = public_holidays(country)
    calendar.get(date(year, 1, 1))  # the calendar fills a year in when asked about it
    return frozenset(d for d in calendar if d.year == year)
