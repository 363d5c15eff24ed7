"""The embedded time-series backend: one SQLite file, so a newcomer needs no server."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import StoreUnavailable
from core.models import Event, Measurement, Reading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    tenant TEXT NOT NULL, device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    bin_id TEXT NOT NULL, fraction TEXT NOT NULL, district TEXT NOT NULL, seq INTEGER NOT NULL,
    distance_mm INTEGER, filling_level REAL NOT NULL, temperature_c REAL, battery_v REAL, battery_pct INTEGER,
    tilt_deg REAL, rssi_dbm INTEGER, fw_version TEXT, threshold REAL,
    PRIMARY KEY (tenant, device_id, ts_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_readings_bin ON readings (tenant, bin_id, ts_ms);
CREATE TABLE IF NOT EXISTS measurements (
    name TEXT NOT NULL, series TEXT NOT NULL, ts_ms INTEGER NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (name, series, ts_ms)
);
CREATE TABLE IF NOT EXISTS events (
    tenant TEXT NOT NULL, kind TEXT NOT NULL, ts_ms INTEGER NOT NULL, bin_id TEXT NOT NULL,
    device_id TEXT, fraction TEXT, district TEXT NOT NULL, value REAL, detail TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, bin_id, ts_ms)
);
"""
_READING_COLUMNS = (
    "tenant", "device_id", "ts_ms", "bin_id", "fraction", "district", "seq", "distance_mm",
    "filling_level", "temperature_c", "battery_v", "battery_pct", "tilt_deg", "rssi_dbm", "fw_version",
    "threshold",
)  # fmt: skip
_EVENT_COLUMNS = ("tenant", "kind", "ts_ms", "bin_id", "device_id", "fraction", "district", "value", "detail")


def to_ms(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class SqliteStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, *statements: tuple[str, list[tuple[Any, ...]]]) -> None:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                for sql, rows in statements:
                    self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store: {exc}") from exc

    def write(self, readings: Sequence[Reading], events: Sequence[Event]) -> None:
        self._write(_readings_statement(readings), _events_statement(events))

    def write_readings(self, readings: Sequence[Reading]) -> None:
        self._write(_readings_statement(readings))

    def write_measurements(self, points: Sequence[Measurement]) -> None:
        sql = "INSERT OR REPLACE INTO measurements (name, series, ts_ms, fields) VALUES (?, ?, ?, ?)"
        rows = [
            (p.name, json.dumps(p.tags, sort_keys=True), to_ms(p.ts), json.dumps(p.fields)) for p in points
        ]
        self._write((sql, rows))

    def measurements(self, name: str) -> list[Measurement]:
        rows = self._query("SELECT * FROM measurements WHERE name = ? ORDER BY ts_ms, series", [name])
        return [
            Measurement(
                name=name,
                tags=json.loads(r["series"]),
                fields=json.loads(r["fields"]),
                ts=from_ms(r["ts_ms"]),
            )
            for r in rows
        ]

    def write_events(self, events: Sequence[Event]) -> None:
        self._write(_events_statement(events))

    def _query(self, sql: str, args: Sequence[Any]) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._db.execute(sql, args)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    def readings(
        self,
        tenant: str,
        *,
        bin_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Reading]:
        sql, args = "SELECT * FROM readings WHERE tenant = ?", list[Any]([tenant])
        for clause, value in (
            (" AND bin_id = ?", bin_id),
            (" AND ts_ms >= ?", start and to_ms(start)),
            (" AND ts_ms < ?", end and to_ms(end)),
        ):
            if value is not None:
                sql, args = sql + clause, [*args, value]
        rows = self._query(sql + " ORDER BY ts_ms, device_id", args)
        return [_reading(dict(row)) for row in rows]

    def fill_levels(
        self, tenant: str, *, start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        sql = (
            "SELECT bin_id, ts_ms, filling_level FROM readings WHERE tenant = ? AND ts_ms >= ? AND ts_ms < ?"
            " ORDER BY ts_ms, device_id"
        )
        out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for bin_id, ts_ms, level in self._query(sql, [tenant, to_ms(start), to_ms(end)]):
            out[bin_id].append((from_ms(ts_ms), level))
        return dict(out)

    def count_readings(self, tenant: str | None = None) -> int:
        if tenant is None:
            return int(self._query("SELECT count(*) FROM readings", [])[0][0])
        return int(self._query("SELECT count(*) FROM readings WHERE tenant = ?", [tenant])[0][0])

    def events(self, tenant: str, *, kind: str | None = None) -> list[Event]:
        sql, args = "SELECT * FROM events WHERE tenant = ?", list[Any]([tenant])
        if kind is not None:
            sql, args = sql + " AND kind = ?", [*args, kind]
        rows = [dict(r) for r in self._query(sql + " ORDER BY ts_ms", args)]
        return [
            Event.model_validate(r | {"ts": from_ms(r.pop("ts_ms")), "bin_id": r["bin_id"] or None})
            for r in rows
        ]

    def ping(self) -> bool:
        return bool(self._query("SELECT 1", []))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _readings_statement(readings: Sequence[Reading]) -> tuple[str, list[tuple[Any, ...]]]:
    marks = ",".join("?" * len(_READING_COLUMNS))
    sql = f"INSERT OR REPLACE INTO readings ({','.join(_READING_COLUMNS)}) VALUES ({marks})"
    return sql, [_reading_row(r) for r in readings]


def _events_statement(events: Sequence[Event]) -> tuple[str, list[tuple[Any, ...]]]:
    marks = ",".join("?" * len(_EVENT_COLUMNS))
    sql = f"INSERT OR REPLACE INTO events ({','.join(_EVENT_COLUMNS)}) VALUES ({marks})"
    rows = [
        (e.tenant, e.kind.value, to_ms(e.ts), e.bin_id or "", e.device_id, e.fraction,
         e.district, e.value, e.detail)
        for e in events
    ]  # fmt: skip
    return sql, rows


def _reading_row(r: Reading) -> tuple[Any, ...]:
    values = r.model_dump() | {"ts_ms": to_ms(r.ts)}
    return tuple(values[c] for c in _READING_COLUMNS)


def _reading(row: dict[str, Any]) -> Reading:
    return Reading.model_validate(row | {"ts": from_ms(row.pop("ts_ms"))})
