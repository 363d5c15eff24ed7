"""Domain values: tenants, bins, devices, readings, events; FIWARE WasteContainer names on the wire.

Python attributes are snake_case with units in their names; where FIWARE's WasteContainer has a
name, the JSON alias is FIWARE's (`fillingLevel`, `binFullnessThreshold`, `dateLastEmptying`).
Departures from FIWARE, and why:
- `temperature_c`: FIWARE's `temperature` carries no unit in its name; the alias keeps FIWARE's.
- `capacity_l`: FIWARE's `binCapacity` is an open quantity; we fix litres.
- `empty_distance_mm` / `full_distance_mm`: sensor calibration, which FIWARE does not model.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.topics import ID_PATTERN

# Instants and days Tömning takes lie in these years: arithmetic on 0001-01-01 or 9999-12-31 (a day
# before, a week after, another zone) raised OverflowError, which the API answered with a plain 500.
FIRST_YEAR, LAST_YEAR = 1970, 2200


def _day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR - 1:
        raise ValueError(f"{type(value).__name__} must lie in the years {FIRST_YEAR} to {LAST_YEAR - 1}")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a time zone")
    _day(value)
    return value


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local time, without an offset: it is read in the tenant's time zone")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Stockholm)") from exc
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Day = Annotated[date, AfterValidator(_day)]
LocalTime = Annotated[time, AfterValidator(_local)]
TimeZone = Annotated[str, AfterValidator(_zone)]
Id = Annotated[str, Field(pattern=ID_PATTERN)]
ClientId = Annotated[str, Field(
    min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
    description="chosen by the phone per report: a report sent again is counted once",
)]  # fmt: skip
FillingLevel = Annotated[float, Field(ge=0.0, le=1.0)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Fraction(StrEnum):
    """Waste fractions, as Swedish municipalities sort them."""

    RESIDUAL = "residual"
    FOOD = "food"
    PAPER = "paper"
    PLASTIC = "plastic"
    GLASS = "glass"
    METAL = "metal"
    NEWSPAPER = "newspaper"
    TEXTILE = "textile"


class EventKind(StrEnum):
    EMPTIED = "emptied"
    FULL = "full"
    FIRE_RISK = "fire_risk"
    TILTED = "tilted"
    LOW_BATTERY = "low_battery"
    SILENT = "silent"
    # a driver's report on a stop: posted to webhooks (a customer service answering "was my bin
    # emptied?"), kept as the report itself, not among the sensors' events
    COLLECTED = "collected"
    SKIPPED = "skipped"


class Tenant(Frozen):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "kalmar", "name": "Kalmar kommun"}]})

    id: Id
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Europe/Stockholm"


class NewTenant(Tenant):
    """A tenant as it is added: its time zone must be one the IANA database knows (one that did not was
    taken, and failed each of the tenant's requests after). Tenants stored before the rule still load."""

    timezone: TimeZone = "Europe/Stockholm"


class Location(Frozen):
    """A WGS84 point."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


def _tag_text(value: str) -> str:
    if any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("no backslash or control character: it names a tag in InfluxDB")
    return value


class BinSpec(Frozen):
    """A bin as a tenant describes it (the API's request body); `Bin` adds its tenant."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "kalmar-0880-147788-paper",
                    "location": {"lat": 56.6616, "lon": 16.3616},
                    "fraction": "paper",
                    "capacity_l": 3000,
                    "empty_distance_mm": 1800,
                    "full_distance_mm": 250,
                    "binFullnessThreshold": 0.8,
                    "service_time_s": 120,
                    "district": "Centrum",
                    "address": "Larmtorget",
                }
            ]
        }
    )

    id: Id
    location: Location
    fraction: Fraction
    capacity_l: float = Field(gt=0, le=100_000)
    empty_distance_mm: int = Field(gt=0, le=10_000)
    full_distance_mm: int = Field(ge=0, le=10_000)
    threshold: FillingLevel = Field(default=0.8, alias="binFullnessThreshold")
    service_time_s: float = Field(default=60.0, ge=0, le=3600)
    district: Annotated[str, AfterValidator(_tag_text)] = Field(default="", max_length=100)
    address: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _full_nearer_than_empty(self) -> BinSpec:
        if self.full_distance_mm >= self.empty_distance_mm:
            raise ValueError(
                f"full_distance_mm ({self.full_distance_mm}) must be below "
                f"empty_distance_mm ({self.empty_distance_mm})"
            )
        return self

    def filling_level(self, distance_mm: float) -> float:
        """Fill from a raw distance with this bin's calibration, clamped to 0..1."""
        span = self.empty_distance_mm - self.full_distance_mm
        return min(1.0, max(0.0, (self.empty_distance_mm - distance_mm) / span))


class Bin(BinSpec):
    """A container with a sensor-read fill; FIWARE WasteContainer."""

    tenant: Id
    district: str = Field(default="", max_length=100)  # as stored: a bin from before the rule still loads


class Device(Frozen):
    """A sensor. `model` names its payload: "tomning" speaks the contract, others are decoded."""

    tenant: Id
    id: Id
    bin_id: Id | None = None
    enabled: bool = True
    report_interval_s: int = Field(default=900, ge=10, le=7 * 86_400)
    model: str = Field(default="tomning", pattern=r"^[a-z0-9][a-z0-9\-]{0,62}$")
    dev_eui: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$", description="LoRaWAN DevEUI")


class Mount(Frozen):
    """A device mounted on a bin from `since` until `until` (open-ended when None)."""

    tenant: Id
    device_id: Id
    bin_id: Id
    since: AwareDatetime
    until: AwareDatetime | None = None


class Reading(Frozen):
    """One accepted reading, resolved to its bin, as stored in the time series."""

    tenant: Id
    device_id: Id
    bin_id: Id
    fraction: Fraction
    district: str = ""
    ts: AwareDatetime
    seq: int = Field(ge=0, le=2**32 - 1)
    distance_mm: int | None = None
    filling_level: FillingLevel = Field(alias="fillingLevel")
    temperature_c: float | None = Field(default=None, alias="temperature")
    battery_v: float | None = None
    battery_pct: int | None = Field(default=None, ge=0, le=100)
    tilt_deg: float | None = None
    rssi_dbm: int | None = None
    fw_version: str | None = None
    # The bin's threshold when read: dashboards count bins over it from the readings alone.
    threshold: FillingLevel | None = Field(default=None, alias="binFullnessThreshold")


class Measurement(Frozen):
    """A free-form time-series point (ingest statistics, daily route summaries); numeric fields."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    tags: dict[str, str]
    fields: dict[str, float | int]
    ts: AwareDatetime


class Event(Frozen):
    """Something that happened to a bin or device, derived from readings; or a driver's report on a
    stop (`collected`, `skipped`) as webhooks post it."""

    tenant: Id
    kind: EventKind
    ts: AwareDatetime
    bin_id: Id | None = None
    device_id: Id | None = None
    fraction: Fraction | None = None
    district: str = ""
    value: float | None = None
    detail: str = ""


class Webhook(Frozen):
    """Where a tenant's events are posted as they happen (the other systems of a municipality)."""

    id: int
    tenant: Id
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    kinds: tuple[EventKind, ...] = Field(min_length=1, description="the event kinds posted")
    created_at: AwareDatetime
    created_by: str


class Delivery(Frozen):
    """One event's post to one webhook: pending (retried with a growing wait), delivered, or failed."""

    id: int
    webhook_id: int
    event: Event
    status: Literal["pending", "delivered", "failed"]
    attempts: int = 0
    next_at: AwareDatetime | None = Field(
        None, description="when it is tried again; for a failed one, when it was given up"
    )
    delivered_at: AwareDatetime | None = None
    last_error: str = ""


class BinState(Frozen):
    """A bin's latest known state, kept beside the registry so nobody scans the time series."""

    tenant: Id
    bin_id: Id
    ts: AwareDatetime
    device_id: Id
    filling_level: FillingLevel = Field(alias="fillingLevel")
    distance_mm: int | None = None
    temperature_c: float | None = Field(default=None, alias="temperature")
    battery_v: float | None = None
    tilt_deg: float | None = None
    date_last_emptying: AwareDatetime | None = Field(default=None, alias="dateLastEmptying")


DEAD_LETTER_PAYLOAD_CHARS = 4096  # a refused payload is kept for a person to read, not whole


def _storable(value: str, limit: int) -> str:
    """Text PostgreSQL can keep (no NUL), at most `limit` characters; a cut one says its size and hash."""
    value = value.replace("\x00", "\\x00")
    if len(value) <= limit:
        return value
    if limit < 200:
        return value[:limit]
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    note = f"… [{len(value)} characters, sha256 {digest}]"
    return value[: limit - len(note)] + note


class DeadLetter(Frozen):
    """A payload, or one reading of it, that was refused, with the reason; large ones cut (size and hash
    kept), NUL written as \\x00, so that any payload can be stored in either registry."""

    tenant: Annotated[str, AfterValidator(lambda v: _storable(v, 63))]
    topic: Annotated[str, AfterValidator(lambda v: _storable(v, 400))]
    reason: Annotated[str, AfterValidator(lambda v: _storable(v, 64))]
    detail: Annotated[str, AfterValidator(lambda v: _storable(v, 2000))]
    payload: Annotated[str, AfterValidator(lambda v: _storable(v, DEAD_LETTER_PAYLOAD_CHARS))]
    received_at: AwareDatetime


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict with the wire (FIWARE) names."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


# Access: who may do what in which tenant (the HTTP API's principals)


class Role(StrEnum):
    """What a key or user may do; a platform admin's key has no tenant."""

    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    DRIVER = "driver"
    VIEWER = "viewer"
    INTEGRATION = "integration"


class Principal(Frozen):
    """An authenticated caller: a tenant (None: the platform's admin), a role, for drivers a name."""

    key_id: str
    tenant: Id | None
    role: Role
    subject: str | None = None  # the driver a driver's key belongs to


class ApiKey(Frozen):
    id: str
    tenant: Id | None
    role: Role
    name: str = Field(default="", max_length=200)
    subject: str | None = Field(default=None, max_length=63)
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    revoked_at: AwareDatetime | None = None


# Alerts: events that want a person's attention, acknowledged and resolved


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ALERT_KINDS = frozenset(
    {EventKind.FULL, EventKind.FIRE_RISK, EventKind.TILTED, EventKind.LOW_BATTERY, EventKind.SILENT}
)


class Alert(Frozen):
    id: int
    event: Event
    status: AlertStatus = AlertStatus.OPEN
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None


# Plans: a day's routes, and what the drivers did at each stop


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    DISPATCHED = "dispatched"
    SUPERSEDED = "superseded"


class PlannedVisit(Frozen):
    """A stop on a route: a bin to empty, or a disposal facility to unload at."""

    seq: int = Field(ge=0)
    kind: Literal["bin", "facility"]
    id: str
    location: Location
    arrival: AwareDatetime
    load_l: int = Field(ge=0, description="carried when leaving")
    fraction: Fraction | None = None
    address: str = ""
    predicted_fill: FillingLevel | None = None


class PlannedBreak(Frozen):
    """A driver's break on a route: when it starts and ends."""

    id: str
    start: AwareDatetime
    end: AwareDatetime


class PlannedRoute(Frozen):
    index: int = Field(ge=0)
    vehicle: str
    driver: str | None = None
    distance_m: float = Field(ge=0)
    duration_s: float = Field(ge=0)
    co2_kg: float = Field(ge=0)
    visits: tuple[PlannedVisit, ...]
    breaks: tuple[PlannedBreak, ...] = ()


class LeftOut(Frozen):
    """A bin a plan does not collect, and why: `code` for programs (and the console's languages),
    `reason` for people."""

    bin_id: str
    reason: str
    code: Literal["", "over_capacity", "not_worth_it", "dispatcher", "no_vehicle", "reported"] = Field(
        "",
        description="over_capacity: due, but more than the trucks can do; not_worth_it: optional, not worth "
        "the detour; dispatcher: left out by the dispatcher; no_vehicle: no truck takes its fraction; "
        "reported: reported on the plan a re-plan replaces; empty on plans made before codes",
    )


class PlanChoices(Frozen):
    """What a dispatcher decided for a day beside the forecasts: bins to collect whatever their fill (a
    resident's call), bins to leave (a blocked street), trucks that do not run (in the workshop)."""

    include: tuple[Id, ...] = Field(
        default=(), max_length=10_000, description="bins collected whatever their fill"
    )
    exclude: tuple[Id, ...] = Field(default=(), max_length=10_000, description="bins not collected that day")
    vehicles_off: tuple[str, ...] = Field(default=(), max_length=1_000, description="trucks that do not run")

    @model_validator(mode="after")
    def _not_both(self) -> PlanChoices:
        if both := sorted(set(self.include) & set(self.exclude)):
            raise ValueError(f"bins both included and excluded: {', '.join(both[:5])}")
        return self


class Plan(Frozen):
    id: int
    tenant: Id
    day: date
    status: PlanStatus
    created_at: AwareDatetime
    created_by: str
    routes: tuple[PlannedRoute, ...]
    left_out: tuple[LeftOut, ...] = ()
    replaces: int | None = None
    choices: PlanChoices = PlanChoices()


class BreakTaken(Frozen):
    """A driver's report that a break of their route began (it lasts as long as their fleet's break says):
    a re-plan does not plan it again; `client_id` makes a resent report count once."""

    tenant: Id
    plan_id: int
    route: int = Field(ge=0, description="the route's index in its plan")
    vehicle: str
    break_id: str = Field(min_length=1, max_length=63)
    start: AwareDatetime
    by: str
    client_id: ClientId


class SkipReason(StrEnum):
    NOT_OUT = "not_out"
    NO_ACCESS = "no_access"
    BLOCKED = "blocked"
    CONTAMINATION = "contamination"
    DAMAGED = "damaged"
    OVERLOADED = "overloaded"
    SAFETY = "safety"
    OTHER = "other"


class OutcomeStatus(StrEnum):
    COLLECTED = "collected"
    SKIPPED = "skipped"


class Outcome(Frozen):
    """A driver's report on one bin of a plan; `client_id` makes a resent report count once."""

    tenant: Id
    plan_id: int
    bin_id: Id
    status: OutcomeStatus
    reason: SkipReason | None = None
    note: str = Field(default="", max_length=500)
    at: AwareDatetime
    by: str
    client_id: ClientId

    @model_validator(mode="after")
    def _reason_when_skipped(self) -> Outcome:
        if (self.status is OutcomeStatus.SKIPPED) != (self.reason is not None):
            raise ValueError("a skipped stop needs a reason, and only a skipped stop has one")
        return self
