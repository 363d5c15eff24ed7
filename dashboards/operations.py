"""Collection operations per day: routes, km, CO2, emptyings, fill at emptying, overflow hours."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries

from dashboards.board import DISTRICT, FILTER, FRACTION, TENANT, Board
from dashboards.influxql import Target

TZ = "tz('Europe/Stockholm')"  # days start at local midnight


def _daily(
    measurement: str, field: str, aggregate: str = "sum", where: str = "tenant =~ /^$tenant$/"
) -> Target:
    query = (
        f'SELECT {aggregate}("{field}") FROM "{measurement}" WHERE $timeFilter AND {where} '
        f"GROUP BY time(1d) fill(none) {TZ}"
    )
    return Target(query, (aggregate,))


def _bars() -> timeseries.Panel:
    return timeseries.Panel().draw_style("bars").fill_opacity(60)  # type: ignore[arg-type]


def board() -> Board:
    b = Board("tomning-operations", "Tömning · Insamling / Collection",
              "Rutter, kilometer och tömningar per dag / Routes, kilometres and emptyings per day",
              variables=[TENANT, DISTRICT, FRACTION])  # fmt: skip
    emptied = FILTER + " AND \"kind\" = 'emptied'"
    b.add(
        _bars(), "Tömningar per dag / Emptyings per day", _daily("events", "value", "count", emptied), width=8
    )
    b.add(timeseries.Panel().unit("percentunit").min(0).max(1), "Fyllnad vid tömning / Fill at emptying",
          _daily("events", "value", "mean", emptied), width=8)  # fmt: skip
    b.add(_bars(), "Rutter per dag / Routes per day", _daily("collection", "routes"), width=8)
    b.add(_bars().unit("lengthkm"), "Körsträcka / Truck-km", _daily("collection", "km"), width=8)
    b.add(_bars().unit("masskg"), "CO₂ (kg)", _daily("collection", "co2_kg"), width=8)
    b.add(_bars().unit("h"), "Överfulla kärltimmar / Overflow bin-hours",
          _daily("collection", "overflow_bin_hours"), width=8)  # fmt: skip
    return b
