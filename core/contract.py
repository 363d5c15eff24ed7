"""The uplink payload of message contract v1: one reading or an array of them, decoded purely."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from core import jsonin
from core.errors import PayloadRejected
from core.models import AwareDatetime

Number = StrictInt | StrictFloat
_PRINTABLE = r"^[\x20-\x7e]+$"


class UplinkReading(BaseModel):
    """A reading as a device sends it. Field limits are part of the contract."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    v: Literal[1] = 1
    ts: AwareDatetime  # RFC 3339 with a zone, or Unix seconds
    seq: Annotated[StrictInt, Field(ge=0, le=2**32 - 1)]
    distance_mm: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    filling_level: Annotated[Number, Field(ge=0, le=1)] | None = Field(None, alias="fillingLevel")
    temperature_c: Annotated[Number, Field(ge=-40, le=125)] | None = Field(None, alias="temperature")
    battery_v: Annotated[Number, Field(ge=0, le=5)] | None = None
    battery_pct: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    tilt_deg: Annotated[Number, Field(ge=0, le=180)] | None = None
    rssi_dbm: Annotated[StrictInt, Field(ge=-150, le=0)] | None = None
    # printable ASCII: it is shown on pages and kept in both registries (PostgreSQL takes no NUL)
    fw_version: Annotated[StrictStr, Field(min_length=1, max_length=32, pattern=_PRINTABLE)] | None = None

    @model_validator(mode="after")
    def _has_a_measure(self) -> UplinkReading:
        if self.distance_mm is None and self.filling_level is None:
            raise ValueError("a reading needs distance_mm or fillingLevel")
        return self


class Limits(NamedTuple):
    max_payload_bytes: int = 64 * 1024
    max_batch: int = 1000
    max_age: timedelta = timedelta(days=30)
    max_skew: timedelta = timedelta(minutes=5)


class Reject(NamedTuple):
    """Why a payload, or the reading at `position` of it, was refused."""

    reason: str
    detail: str
    position: int | None = None


class Decoded(NamedTuple):
    readings: list[UplinkReading]
    rejects: list[Reject]


DEFAULT_LIMITS = Limits()


def decode_uplink(payload: bytes, *, received_at: datetime, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Decode a payload; each bad reading is rejected alone, the good ones pass."""
    if len(payload) > limits.max_payload_bytes:
        return Decoded([], [Reject("oversized", f"{len(payload)} bytes > {limits.max_payload_bytes}")])
    if payload[:1] == b"{":
        fast = _fast_single(payload, received_at=received_at, limits=limits)
        if fast is not None:
            return fast
    try:
        document = jsonin.loads(payload, max_bytes=limits.max_payload_bytes)
    except PayloadRejected as exc:
        return Decoded([], [Reject(exc.reason, exc.detail)])
    items = document if isinstance(document, list) else [document]
    if not items:
        return Decoded([], [Reject("empty_batch", "the array holds no reading")])
    if len(items) > limits.max_batch:
        return Decoded([], [Reject("batch_too_large", f"{len(items)} readings > {limits.max_batch}")])
    readings: list[UplinkReading] = []
    rejects: list[Reject] = []
    index: int | None
    for position, item in enumerate(items):
        index = position if isinstance(document, list) else None
        outcome = _decode_one(item, received_at=received_at, limits=limits)
        if isinstance(outcome, UplinkReading):
            readings.append(outcome)
        else:
            rejects.append(outcome._replace(position=index))
    return Decoded(readings, rejects)


def _fast_single(payload: bytes, *, received_at: datetime, limits: Limits) -> Decoded | None:
    """One valid reading parsed in pydantic's core; None sends the payload the slow, precise way."""
    try:
        reading = UplinkReading.model_validate_json(payload)
    except ValidationError:
        return None
    if received_at - limits.max_age <= reading.ts <= received_at + limits.max_skew:
        return Decoded([reading], [])
    return None


def _decode_one(item: object, *, received_at: datetime, limits: Limits) -> UplinkReading | Reject:
    if not isinstance(item, dict):
        return Reject("not_an_object", f"a reading is a JSON object, got {type(item).__name__}")
    try:
        reading = UplinkReading.model_validate(item)
    except ValidationError as exc:
        return _reject_for(exc.errors())
    if reading.ts > received_at + limits.max_skew:
        return Reject("timestamp_future", f"ts {reading.ts.isoformat()} is ahead of the server clock")
    if reading.ts < received_at - limits.max_age:
        return Reject("timestamp_past", f"ts {reading.ts.isoformat()} is older than {limits.max_age}")
    return reading


def _reject_for(errors: Sequence[ErrorDetails]) -> Reject:
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "reading"
    kind = first["type"]
    if kind == "missing":
        reason = "missing_field"
    elif kind == "extra_forbidden":
        reason = "unknown_field"
    elif kind.endswith(("_than", "_than_equal", "too_long", "too_short", "literal_error")):
        reason = "out_of_range"
    elif kind in {"value_error", "timezone_aware", "assertion_error", "string_pattern_mismatch"}:
        reason = "invalid_value"
    else:
        reason = "wrong_type"
    return Reject(reason, f"{field}: {first['msg']} (got {_shown(first.get('input'))})")


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)  # an integer's digits are bounded by the parser (core/jsonin.py)
    return text if len(text) <= limit else text[: limit - 1] + "…"
