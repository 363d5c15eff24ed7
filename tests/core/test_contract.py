"""The uplink contract: what is accepted, and the reason each bad payload gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.contract import DEFAULT_LIMITS, Limits, decode_uplink

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def decode(document: object, limits: Limits = DEFAULT_LIMITS) -> tuple[list[object], list[str]]:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    decoded = decode_uplink(raw, received_at=NOW, limits=limits)
    return list(decoded.readings), [r.reason for r in decoded.rejects]


def good(**fields: object) -> dict[str, object]:
    return {"ts": "2026-11-23T06:59:00+01:00", "seq": 1, "distance_mm": 800} | fields


def test_a_full_reading_is_accepted_with_its_values() -> None:
    readings, rejects = decode(good(temperature=4.5, battery_v=3.6, tilt_deg=1, rssi_dbm=-70, fw_version="1"))
    assert rejects == []
    (reading,) = readings
    assert reading.ts == datetime(2026, 11, 23, 5, 59, tzinfo=UTC)  # type: ignore[attr-defined]
    assert reading.temperature_c == 4.5  # type: ignore[attr-defined]


def test_unix_seconds_are_a_timestamp() -> None:
    readings, _ = decode(good(ts=int(NOW.timestamp()) - 60))
    assert readings[0].ts == NOW - timedelta(minutes=1)  # type: ignore[attr-defined]


def test_an_array_keeps_good_readings_beside_bad_ones() -> None:
    raw = json.dumps([good(seq=1), good(seq="2"), good(seq=3)]).encode()
    decoded = decode_uplink(raw, received_at=NOW)
    assert [r.seq for r in decoded.readings] == [1, 3]
    assert [(r.reason, r.position) for r in decoded.rejects] == [("wrong_type", 1)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "not_utf8"),
        ('{"a": 1}'.encode("utf-16"), "not_utf8"),
        (b"[" * 1000 + b"]" * 1000, "too_deep"),
        (b'{"ts": 1, "seq": ' + b"9" * 5000 + b"}", "number_too_long"),
        (b'{"ts": 1, "seq": 1, "distance_mm": NaN}', "malformed_json"),
        (b'{"ts": 1, "seq": 1, "distance_mm": 1e999}', "wrong_type"),
        ([], "empty_batch"),
        (7, "not_an_object"),
        (good(seq="1"), "wrong_type"),
        (good(distance_mm=1.5), "wrong_type"),
        (good(distance_mm=True), "wrong_type"),
        (good(distance_mm=10_001), "out_of_range"),
        (good(fillingLevel=1.01, distance_mm=None), "out_of_range"),
        (good(temperature=-41), "out_of_range"),
        (good(seq=-1), "out_of_range"),
        (good(fw_version="x" * 33), "out_of_range"),
        (good(v=2), "out_of_range"),
        (good(colour="green"), "unknown_field"),
        ({"seq": 1, "distance_mm": 5}, "missing_field"),
        (good(distance_mm=None), "invalid_value"),
        (good(ts="2026-11-23T06:00:00"), "invalid_value"),
        (good(ts="yesterday"), "wrong_type"),
        (good(ts="2026-11-23T06:06:00Z"), "timestamp_future"),
        (good(ts="2026-10-01T00:00:00Z"), "timestamp_past"),
    ],
)
def test_each_bad_reading_gets_its_reason(payload: object, reason: str) -> None:
    readings, rejects = decode(payload)
    assert (readings, rejects) == ([], [reason])


def test_oversized_and_too_long_batches_are_refused_whole() -> None:
    limits = Limits(max_payload_bytes=1024, max_batch=3)
    assert decode(b" " * 1025, limits) == ([], ["oversized"])
    assert decode([good(seq=i) for i in range(4)], limits) == ([], ["batch_too_large"])


def test_a_reject_names_the_field_and_the_value() -> None:
    decoded = decode_uplink(json.dumps(good(distance_mm=99_999)).encode(), received_at=NOW)
    assert "distance_mm" in decoded.rejects[0].detail
    assert "99999" in decoded.rejects[0].detail
