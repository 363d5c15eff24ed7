"""Domain values: calibration, validation, FIWARE names on the wire."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from core.models import Bin, BinState, Location, dump


def a_bin(**fields: object) -> Bin:
    values: dict[str, object] = {
        "tenant": "kalmar", "id": "kalmar-0880-147788-paper", "location": Location(lat=56.5, lon=16.1),
        "fraction": "paper", "capacity_l": 3000, "empty_distance_mm": 1800, "full_distance_mm": 300,
    }  # fmt: skip
    return Bin.model_validate(values | fields)


@pytest.mark.parametrize(
    ("distance_mm", "level"), [(1800, 0.0), (300, 1.0), (1050, 0.5), (2500, 0.0), (0, 1.0)]
)
def test_filling_level_follows_the_calibration_and_is_clamped(distance_mm: int, level: float) -> None:
    assert a_bin().filling_level(distance_mm) == pytest.approx(level)


def test_full_distance_must_be_nearer_than_empty() -> None:
    with pytest.raises(ValidationError, match="full_distance_mm"):
        a_bin(full_distance_mm=1900)


def test_values_are_frozen_and_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        a_bin(colour="green")
    with pytest.raises(ValidationError):
        a_bin().capacity_l = 10  # type: ignore[misc]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        BinState(tenant="k", bin_id="b", ts=datetime(2026, 1, 1), device_id="d", filling_level=0.1)


def test_ids_are_lowercase_slugs() -> None:
    with pytest.raises(ValidationError):
        a_bin(id="Bin 1")


def test_wire_names_are_fiware() -> None:
    assert dump(a_bin())["binFullnessThreshold"] == 0.8
