"""Time-series storage of readings and events: one interface, SQLite and InfluxDB backends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from core.models import Event, Measurement, Reading
from core.settings import StoreSettings


class TimeSeriesStore(Protocol):
    """Writes are idempotent: the same device and device timestamp overwrite, never add."""

    def write(self, readings: Sequence[Reading], events: Sequence[Event]) -> None:
        """Readings and events in one request (one transaction where the backend has them)."""

    def write_readings(self, readings: Sequence[Reading]) -> None: ...

    def write_measurements(self, points: Sequence[Measurement]) -> None: ...

    def measurements(self, name: str) -> list[Measurement]: ...

    def write_events(self, events: Sequence[Event]) -> None: ...

    def readings(
        self,
        tenant: str,
        *,
        bin_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Reading]: ...

    def fill_levels(
        self, tenant: str, *, start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        """Each bin's filling levels in [start, end), oldest first: what forecasts read, without the rest
        of each reading (a tenant's two weeks are millions of readings)."""

    def count_readings(self, tenant: str | None = None) -> int: ...

    def events(self, tenant: str, *, kind: str | None = None) -> list[Event]: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def open_store(settings: StoreSettings) -> TimeSeriesStore:
    """The backend the settings name."""
    if settings.backend == "influxdb":
        from core.timeseries.influx import InfluxStore

        return InfluxStore.from_settings(settings)
    from core.timeseries.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
