"""InfluxDB backend: line-protocol writes (v1 /write, or v2 through influxdb-client), InfluxQL reads.

Reads go through `/query`, which InfluxDB 1.x, 2.x (v1 compatibility API) and 3.x all answer.
Schema: measurements `readings` and `events`; tags tenant, bin, device, fraction, district (and kind
for events); everything else is a field. A point's key is its tags and its time, so the same
reading written twice overwrites itself.

A database name with `{tenant}` in it (`tomning_{tenant}`) gives every tenant a database of its own,
so that InfluxDB's users and Grafana's data sources can keep municipalities apart; points of no
tenant (ingest statistics) go to the one named with `_platform`.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from core.errors import InvalidInput, StoreUnavailable
from core.models import Event, Measurement, Reading
from core.settings import StoreSettings
from core.timeseries.sqlite import from_ms, to_ms
from core.topics import ID_PATTERN

_READING_FIELDS = (
    "seq", "distance_mm", "filling_level", "temperature_c", "battery_v", "battery_pct", "tilt_deg",
    "rssi_dbm", "fw_version", "threshold",
)  # fmt: skip
_TAGS = {
    "tenant": "tenant",
    "bin": "bin_id",
    "device": "device_id",
    "fraction": "fraction",
    "district": "district",
}


PLATFORM = "_platform"  # no tenant id begins with "_"
PER_TENANT = "{tenant}"


def tenant_database(name: str, tenant: str) -> str:
    """`tenant`'s own database in a store named `name` (with `{tenant}`), asked for by an operator (a
    grant, a Grafana push): refused when the store keeps one database, or `tenant` is no tenant id."""
    if PER_TENANT not in name:
        raise InvalidInput(
            f"the store keeps every tenant in one database ({name!r}): name it with {{tenant}} "
            "(TOMNING_STORE__INFLUX_DATABASE=tomning_{tenant}) to give each municipality its own"
        )
    if tenant != PLATFORM and not re.fullmatch(ID_PATTERN, tenant):
        raise InvalidInput(f"{tenant!r} is not a tenant id ({ID_PATTERN}) nor {PLATFORM!r}")
    return name.replace(PER_TENANT, tenant)


class StoreRejected(InvalidInput):
    """InfluxDB refused the points themselves (HTTP 4xx): retrying cannot help."""


def quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# InfluxDB 1.x reads a backslash in a tag value as escaping the next character, and cannot store one
# at the end of a value or before a comma, space or equals sign (a district "Centrum\" failed a whole
# batch of several tenants); tags are names, so a backslash is written as "/" and a control character
# as a space. Field strings keep every character (tested against InfluxDB with generated strings).
_TAG_ESCAPES = str.maketrans(
    {",": "\\,", "=": "\\=", " ": "\\ ", "\\": "/"} | {chr(c): "\\ " for c in [*range(32), 127]}
)
_FLOATS = {"filling_level", "temperature_c", "battery_v", "tilt_deg", "threshold"}


def _field(value: object, *, as_float: bool = False) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if as_float or isinstance(value, float):
        return repr(float(value))  # type: ignore[arg-type]
    return f"{value}i"


def line(measurement: str, tags: dict[str, str], fields: dict[str, object], ts: datetime) -> str:
    """One point in line protocol, millisecond precision; empty tags are left out."""
    tag_part = "".join(f",{k}={v.translate(_TAG_ESCAPES)}" for k, v in tags.items() if v)
    field_part = ",".join(
        f"{k}={_field(v, as_float=k in _FLOATS)}" for k, v in fields.items() if v is not None
    )
    return f"{measurement}{tag_part} {field_part} {to_ms(ts)}"


@functools.lru_cache(maxsize=100_000)
def _reading_series(tenant: str, bin_id: str, device_id: str, fraction: str, district: str) -> str:
    tags = {"tenant": tenant, "bin": bin_id, "device": device_id, "fraction": fraction, "district": district}
    return "readings" + "".join(f",{k}={v.translate(_TAG_ESCAPES)}" for k, v in tags.items() if v)


def reading_point(r: Reading) -> str:
    """`line` for a reading, written out by hand: it is the hot path of ingest."""
    series = _reading_series(r.tenant, r.bin_id, r.device_id, r.fraction.value, r.district)
    fields = f"seq={r.seq}i,filling_level={float(r.filling_level)!r}"
    if r.distance_mm is not None:
        fields += f",distance_mm={r.distance_mm}i"
    # Every field costs InfluxDB parsing on each of thousands of points a second: a bin's place is
    # kept once in the `bins` measurement, not on each reading (measured: 0.74 against 0.85 of the
    # ingest benchmark's ceiling).
    for name in ("temperature_c", "battery_v", "tilt_deg", "threshold"):
        value = getattr(r, name)
        if value is not None:
            fields += f",{name}={float(value)!r}"
    if r.rssi_dbm is not None:
        fields += f",rssi_dbm={r.rssi_dbm}i"
    if r.battery_pct is not None:
        fields += f",battery_pct={r.battery_pct}i"
    if r.fw_version is not None:
        fields += f",fw_version={_field(r.fw_version)}"
    return f"{series} {fields} {to_ms(r.ts)}"


def event_point(e: Event) -> str:
    tags = {"tenant": e.tenant, "kind": e.kind.value, "bin": e.bin_id or "", "device": e.device_id or "",
            "fraction": e.fraction or "", "district": e.district}  # fmt: skip
    return line("events", tags, {"detail": e.detail, "value": e.value}, e.ts)


class InfluxStore:
    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        auth = None
        if settings.influx_username and settings.influx_password:
            auth = (settings.influx_username, settings.influx_password.get_secret_value())
        self._http = httpx.Client(base_url=settings.influx_url, auth=auth, timeout=settings.timeout_s)
        self._v2: InfluxDBClient | None = None
        self._ensured: set[str] = set()
        if settings.influx_write_api == "v2":
            token = settings.influx_token.get_secret_value() if settings.influx_token else ""
            if not token and auth:
                token = f"{auth[0]}:{auth[1]}"  # InfluxDB 1.8's v2 API takes user:password
            self._v2 = InfluxDBClient(
                url=settings.influx_url,
                token=token,
                org=settings.influx_org,
                timeout=int(settings.timeout_s * 1000),
                retries=0,  # we retry, from the spool, never inside one call
            )

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> InfluxStore:
        store = cls(settings)
        try:
            store.ensure_database(strict=store.per_tenant)
        except InvalidInput:
            store.close()
            raise
        return store

    def __enter__(self) -> InfluxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def per_tenant(self) -> bool:
        return PER_TENANT in self.settings.influx_database

    def database(self, tenant: str | None) -> str:
        """The database a tenant's points are in (`None`: points of no tenant)."""
        return self.settings.influx_database.replace(PER_TENANT, tenant or PLATFORM)

    def databases(self) -> list[str]:
        """Every database this store writes: one, or each tenant's that exists."""
        if not self.per_tenant:
            return [self.settings.influx_database]
        head, _, tail = self.settings.influx_database.partition(PER_TENANT)
        names = [row["name"] for row in self.query("SHOW DATABASES")]
        return sorted(
            n for n in names if n.startswith(head) and n.endswith(tail) and len(n) > len(head + tail)
        )

    def ensure_database(self, name: str | None = None, *, strict: bool = False) -> None:
        """Create the database where the server lets us (1.x); elsewhere it must exist. `strict`: a server
        that answers but refuses raises InvalidInput (a database per tenant needs new ones made as tenants
        come: found out at start, not when a new municipality's first reading holds up the spool)."""
        name = name or self.database(None)
        if name in self._ensured:
            return
        try:
            self._command(f"CREATE DATABASE {_identifier(name)}")
        except StoreUnavailable:
            return  # down now: writes will spool and say so
        except InvalidInput as exc:
            if strict:
                raise InvalidInput(
                    f"{exc}: a database per tenant ({self.settings.influx_database!r}) needs an InfluxDB "
                    "user who may create databases (an admin) for TOMNING_STORE__INFLUX_USERNAME"
                ) from exc
            return
        self._ensured.add(name)

    def grant_read(self, tenant: str, user: str, password: str) -> str:
        """An InfluxDB user who may read `tenant`'s database and nothing else (for that municipality's
        Grafana data source): created, or its password set; returns the database."""
        database = tenant_database(self.settings.influx_database, tenant)
        self._command(f"CREATE DATABASE {_identifier(database)}")
        try:
            self._command(f"CREATE USER {_identifier(user)} WITH PASSWORD {quote(password)}")
        except InvalidInput as exc:
            if "user already exists" not in str(exc):
                raise
            self._command(f"SET PASSWORD FOR {_identifier(user)} = {quote(password)}")
        self._command(f"GRANT READ ON {_identifier(database)} TO {_identifier(user)}")
        return database

    def _command(self, influxql: str) -> None:
        """A statement that changes the server (POST /query); its error raised: InvalidInput when the server
        refuses it, StoreUnavailable when it is not there."""
        try:
            response = self._http.post("/query", params={"q": influxql})
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"influxdb at {self.settings.influx_url}: {exc}") from exc
        what = influxql.split(" WITH ")[0].split("'")[0].strip()  # never a password
        if response.status_code in (401, 403):
            raise InvalidInput(
                f"influxdb refused {what!r}: HTTP {response.status_code} {response.text[:200]}".strip()
            )
        _check(response.status_code, response.text)
        for result in response.json().get("results", []):
            if "error" in result:
                raise InvalidInput(f"influxdb refused {what!r}: {result['error']}")

    def _write(self, points: Sequence[tuple[str | None, str]]) -> None:
        """Line-protocol `points`, each of its tenant (or None), to the database of each."""
        by_database: dict[str, list[str]] = defaultdict(list)
        for tenant, point in points:
            by_database[self.database(tenant)].append(point)
        for name, lines in by_database.items():
            if self.per_tenant:
                self.ensure_database(name)
            self._write_lines(name, lines)

    def _write_lines(self, database: str, lines: list[str]) -> None:
        body = "\n".join(lines)
        if self._v2 is not None:
            self._write_v2(database, body)
            return
        params = {"db": database, "precision": "ms"}
        if self.settings.influx_retention_policy:
            params["rp"] = self.settings.influx_retention_policy
        try:
            response = self._http.post("/write", params=params, content=body.encode())
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"influxdb at {self.settings.influx_url}: {exc}") from exc
        _check(response.status_code, response.text)

    def _write_v2(self, database: str, body: str) -> None:
        assert self._v2 is not None
        api = self._v2.write_api(write_options=SYNCHRONOUS)
        rp = self.settings.influx_retention_policy
        bucket = f"{database}/{rp}" if rp else database
        try:
            api.write(bucket=bucket, record=body, write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        except ApiException as exc:
            _check(int(exc.status or 0), str(exc.body))
        except (Urllib3Error, OSError) as exc:
            raise StoreUnavailable(f"influxdb v2 write at {self.settings.influx_url}: {exc}") from exc

    def write(self, readings: Sequence[Reading], events: Sequence[Event]) -> None:
        self._write(
            [(r.tenant, reading_point(r)) for r in readings] + [(e.tenant, event_point(e)) for e in events]
        )

    def write_measurements(self, points: Sequence[Measurement]) -> None:
        self._write([(p.tags.get("tenant"), line(p.name, p.tags, dict(p.fields), p.ts)) for p in points])

    def measurements(self, name: str) -> list[Measurement]:
        rows = [row for db in self.databases() for row in self.query(f'SELECT * FROM "{name}"', database=db)]
        return [_measurement(name, row) for row in rows]

    def write_readings(self, readings: Sequence[Reading]) -> None:
        self._write([(r.tenant, reading_point(r)) for r in readings])

    def write_events(self, events: Sequence[Event]) -> None:
        self._write([(e.tenant, event_point(e)) for e in events])

    def query(
        self, influxql: str, *, tenant: str | None = None, database: str | None = None
    ) -> list[dict[str, Any]]:
        """Rows of an InfluxQL query as dicts, `time` in epoch milliseconds, in `tenant`'s database (or
        the one named); a tenant's own database that does not exist yet holds nothing."""
        params = {"db": database or self.database(tenant), "q": influxql, "epoch": "ms"}
        try:
            response = self._http.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"influxdb at {self.settings.influx_url}: {exc}") from exc
        _check(response.status_code, response.text)
        rows: list[dict[str, Any]] = []
        for result in response.json().get("results", []):
            if "error" in result:
                if self.per_tenant and result["error"].startswith("database not found"):
                    return []
                raise InvalidInput(f"influxql {influxql!r}: {result['error']}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                rows.extend(dict(zip(series["columns"], v, strict=True)) | tags for v in series["values"])
        return rows

    def readings(
        self,
        tenant: str,
        *,
        bin_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Reading]:
        where = [f"tenant = {quote(tenant)}"]
        if bin_id is not None:
            where.append(f'"bin" = {quote(bin_id)}')
        if start is not None:
            where.append(f"time >= {to_ms(start)}ms")
        if end is not None:
            where.append(f"time < {to_ms(end)}ms")
        rows = self.query(f"SELECT * FROM readings WHERE {' AND '.join(where)}", tenant=tenant)
        readings = [_reading(row) for row in rows]
        return sorted(readings, key=lambda r: (r.ts, r.device_id))

    def fill_levels(
        self, tenant: str, *, start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        rows = self.query(
            f"SELECT filling_level FROM readings WHERE tenant = {quote(tenant)} AND time >= {to_ms(start)}ms "
            f'AND time < {to_ms(end)}ms GROUP BY "bin"',
            tenant=tenant,
        )
        out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for row in rows:  # each bin's series in time order
            out[row["bin"]].append((from_ms(row["time"]), float(row["filling_level"])))
        return dict(out)

    def count_readings(self, tenant: str | None = None) -> int:
        where = f" WHERE tenant = {quote(tenant)}" if tenant else ""
        asked = [self.database(tenant)] if tenant else self.databases()
        counted = [self.query(f"SELECT count(seq) FROM readings{where}", database=db) for db in asked]
        return sum(int(rows[0]["count"]) for rows in counted if rows)

    def events(self, tenant: str, *, kind: str | None = None) -> list[Event]:
        where = f"tenant = {quote(tenant)}" + (f" AND kind = {quote(kind)}" if kind else "")
        rows = self.query(f"SELECT * FROM events WHERE {where}", tenant=tenant)
        return [_event(row) for row in sorted(rows, key=lambda r: r["time"])]

    def ping(self) -> bool:
        try:
            return self._http.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._http.close()
        if self._v2 is not None:
            self._v2.close()


def _identifier(name: str) -> str:
    """An InfluxQL identifier, quoted."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(status: int, text: str) -> None:
    if status < 300:
        return
    if 400 <= status < 500 and status not in (401, 403, 404, 408, 429):
        raise StoreRejected(f"influxdb refused the points (HTTP {status}): {text[:300]}")
    raise StoreUnavailable(f"influxdb answered HTTP {status}: {text[:300]}")


def _reading(row: dict[str, Any]) -> Reading:
    values = {attr: row.get(tag) or "" for tag, attr in _TAGS.items()}
    values |= {name: row.get(name) for name in _READING_FIELDS if row.get(name) is not None}
    return Reading.model_validate(values | {"ts": from_ms(row["time"])})


def _event(row: dict[str, Any]) -> Event:
    return Event(
        tenant=row["tenant"],
        kind=row["kind"],
        ts=from_ms(row["time"]),
        bin_id=row.get("bin") or None,
        device_id=row.get("device") or None,
        fraction=row.get("fraction") or None,
        district=row.get("district") or "",
        value=row.get("value"),
        detail=row.get("detail") or "",
    )


def _measurement(name: str, row: dict[str, Any]) -> Measurement:
    """A measurement's fields are numbers, so its strings are its tags."""
    ts = from_ms(row.pop("time"))
    tags = {k: v for k, v in row.items() if isinstance(v, str)}
    fields = {k: v for k, v in row.items() if k not in tags and v is not None}
    return Measurement(name=name, tags=tags, fields=fields, ts=ts)
