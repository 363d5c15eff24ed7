"""One bin: its fill with emptyings marked, the forecast, temperature, battery and events."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table, timeseries

from dashboards.board import TENANT, Board, variable
from dashboards.influxql import Target

BIN = variable("bin", "Kärl / Bin", 'SHOW TAG VALUES FROM "readings" WITH KEY = "bin" WHERE tenant =~ /^$tenant$/',
               all_=False)  # fmt: skip
WHERE = 'tenant =~ /^$tenant$/ AND "bin" =~ /^$bin$/'


def _series(field: str, aggregate: str = "mean") -> Target:
    query = f'SELECT {aggregate}("{field}") FROM "readings" WHERE $timeFilter AND {WHERE} GROUP BY time($__interval) fill(none)'
    return Target(query, (aggregate,))


def board() -> Board:
    b = Board("tomning-bin", "Tömning · Kärl / Bin", "Ett kärls historik och prognos / One bin's history and forecast",
              variables=[TENANT, BIN])  # fmt: skip
    forecast = Target(
        'SELECT mean("filling_level") AS "forecast", mean("lower") AS "lower", mean("upper") AS "upper" '
        f'FROM "forecasts" WHERE time > now() - 1d AND time < now() + 14d AND {WHERE} GROUP BY time(1h) fill(none)',
        ("forecast", "lower", "upper"), ref_id="B",
    )  # fmt: skip
    b.add(timeseries.Panel().unit("percentunit").min(0).max(1), "Fyllnad och prognos / Fill and forecast",
          _series("filling_level"), forecast, width=24, height=10)  # fmt: skip
    b.annotate("Tömningar / Emptyings",
               f"SELECT \"detail\", \"kind\" FROM \"events\" WHERE $timeFilter AND {WHERE} AND \"kind\" = 'emptied'",
               "green")  # fmt: skip
    b.add(
        timeseries.Panel().unit("celsius"),
        "Temperatur / Temperature",
        _series("temperature_c", "max"),
        width=8,
    )
    b.add(timeseries.Panel().unit("volt"), "Batteri / Battery", _series("battery_v", "min"), width=8)
    events = (
        f'SELECT "kind", "detail", "value" FROM "events" WHERE $timeFilter AND {WHERE} ORDER BY time DESC'
    )
    b.add(table.Panel(), "Händelser / Events", Target(events, ("kind", "detail"), "table"), width=8)
    return b
