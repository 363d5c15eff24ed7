"""Every bin's forecast from its recent readings, as the planner and the console use it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.fillmodel import BinKind, kind_of
from core.forecast import Forecast, Reliability, estimate, fraction_rates, learn_rhythm
from core.models import (
    Bin,
    Measurement,
    OutcomeStatus,
)
from core.operations import forecast_points
from core.registry import Registry
from core.timeseries import TimeSeriesStore
from planning.calendar import holidays_around
from planning.fleet import FleetSpec, saved_fleet

HISTORY = timedelta(days=14)
DEFAULT_RATE_PER_DAY = 0.12  # a bin with no history of its own, and none in its fraction either


def forecasts(
    registry: Registry, store: TimeSeriesStore, tenant: str, now: datetime, bins: Sequence[Bin] | None = None
) -> dict[str, Forecast]:
    """Every bin's forecast from its last two weeks of readings; bins without readings have none."""
    chosen = list(bins) if bins is not None else registry.bins(tenant)
    history = store.fill_levels(tenant, start=now - HISTORY, end=now + timedelta(minutes=5))
    # a driver's collection empties the bin, whether or not its sensor has spoken since
    emptied: dict[str, datetime] = {}
    for o in registry.outcomes(tenant, since=now - HISTORY):
        if o.status is OutcomeStatus.COLLECTED and o.at <= now:
            emptied[o.bin_id] = max(o.at, emptied.get(o.bin_id, o.at))
    zone = ZoneInfo(registry.tenant(tenant).timezone)
    fleet = saved_fleet(registry, tenant)
    country = fleet.holidays if fleet is not None else FleetSpec.model_fields["holidays"].default
    return forecast_all(chosen, history, emptied, now, zone, holidays=holidays_around(country, now.date()))


def forecast_all(
    bins: Sequence[Bin],
    history: Mapping[str, Sequence[tuple[datetime, float]]],
    emptied: Mapping[str, datetime],
    now: datetime,
    zone: ZoneInfo,
    *,
    holidays: Iterable[date] = (),
) -> dict[str, Forecast]:
    """Forecasts from readings (`history`) and known collections (`emptied`), on the weekly rhythm
    each kind of bin shows in those readings (`holidays` on Sunday's); a bin with little history of
    its own borrows its fraction's median rate."""
    days_off = tuple(holidays)
    rhythms = {
        kind: learn_rhythm((history.get(b.id, ()) for b in bins if kind_of(b) is kind), zone, days_off)
        for kind in BinKind
    }
    runs: dict[str, Sequence[tuple[datetime, float]]] = {}
    for b in bins:
        points = history.get(b.id, ())
        if b.id in emptied:
            at = emptied[b.id]
            points = [p for p in points if p[0] > at] or [(at, 0.0)]
        runs[b.id] = points
    own = {
        b.id: f
        for b in bins
        if (
            f := estimate(
                b.id,
                runs[b.id],
                threshold=b.threshold,
                now=now,
                fallback_rate_per_day=0.0,
                emptied_at=emptied.get(b.id),
                rhythm=rhythms[kind_of(b)],
            )
        )
        is not None
    }
    # similar bins: the same fraction and kind in the same district when there are a few, else the same
    # fraction and kind (a street litter bin does not fill at a household bin's pace), else the fraction
    alike = {b.id: f"{b.fraction.value}/{kind_of(b).value}" for b in bins}
    borrowed = fraction_rates([(b.fraction.value, own[b.id]) for b in bins if b.id in own])
    similar = fraction_rates([(alike[b.id], own[b.id]) for b in bins if b.id in own])
    nearby = fraction_rates([(f"{alike[b.id]}@{b.district}", own[b.id]) for b in bins if b.id in own],
                            at_least=3)  # fmt: skip
    out = {}
    for b in bins:
        if b.id in own and own[b.id].reliability is not Reliability.LOW:
            out[b.id] = own[b.id]
            continue
        rate = nearby.get(
            f"{alike[b.id]}@{b.district}",
            similar.get(alike[b.id], borrowed.get(b.fraction.value, DEFAULT_RATE_PER_DAY)),
        )
        f = estimate(
            b.id,
            runs[b.id],
            threshold=b.threshold,
            now=now,
            fallback_rate_per_day=rate,
            emptied_at=emptied.get(b.id),
            rhythm=rhythms[kind_of(b)],
        )
        if f is not None:
            out[b.id] = f
    return out


def forecast_band(
    tenant: str, predicted: Iterable[Forecast], now: datetime, hours: int = 48, step_h: int = 3
) -> list[Measurement]:
    """Each bin's forecast ahead with its band, the fill at its slowest and fastest likely rate
    (`forecasts`, which the bin dashboard draws)."""
    out: list[Measurement] = []
    for f in predicted:
        points = []
        for h in range(0, hours + 1, step_h):
            at = now + timedelta(hours=h)
            low, high = f.band_at(at)
            points.append((at, round(f.level_at(at), 4), round(low, 4), round(high, 4)))
        out += forecast_points(tenant=tenant, bin_id=f.bin_id, points=points)
    return out
