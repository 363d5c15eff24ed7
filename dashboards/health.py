"""Platform health: what ingest receives, writes, spools and refuses, and how far behind it is."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries

from dashboards.board import Board
from dashboards.influxql import Target


def _per_worker(fields: dict[str, str], aggregate: str = "mean") -> Target:
    select = ", ".join(f'{aggregate}("{field}") AS "{alias}"' for alias, field in fields.items())
    query = f'SELECT {select} FROM "ingest" WHERE $timeFilter GROUP BY time($__interval), "worker" fill(none)'
    return Target(query, tuple(fields), group_by=("worker",))


def board() -> Board:
    b = Board("tomning-health", "Tömning · Plattform / Platform health",
              "Ingest: flöde, spool, döda brev och fördröjning / flow, spool, dead letters and lag",
              variables=[])  # fmt: skip
    rates = {"received": "received_per_s", "written": "written_per_s", "spooled": "spooled_per_s"}
    b.add(timeseries.Panel().unit("reqps"), "Avläsningar/s / Readings per second", _per_worker(rates))
    b.add(timeseries.Panel().unit("reqps"), "Döda brev/s / Dead letters per second",
          _per_worker({"dead_letters": "dead_letters_per_s"}))  # fmt: skip
    b.add(timeseries.Panel().unit("bytes"), "Spool", _per_worker({"spool_bytes": "spool_bytes"}, "max"))
    b.add(timeseries.Panel().unit("s"), "Fördröjning / Lag (receipt → stored)",
          _per_worker({"lag": "lag_mean_s"}))  # fmt: skip
    return b
