"""A bin's fill ahead: its rate since the last emptying, robust to noise and spikes (Theil–Sen).

This is the estimate the API serves and plans select with until the forecasting issue's model
(weekday rhythm, uncertainty from history) replaces it. A bin with too little history of its own
borrows the median rate of its fraction, and says so in `reliability`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
from pydantic import Field

from core.models import AwareDatetime, FillingLevel, Frozen

MIN_POINTS = 6
MIN_SPAN = timedelta(hours=6)
GOOD_POINTS, GOOD_SPAN = 24, timedelta(hours=24)
_MAX_POINTS = 120  # pairwise slopes over at most this many readings
EMPTYING_DROP = 0.3
STUCK_READINGS = 8


class Reliability(StrEnum):
    HIGH = "high"  # a day or more of its own readings since the last emptying
    MEDIUM = "medium"  # some hours of its own readings
    LOW = "low"  # borrowed: its fraction's median rate


class Forecast(Frozen):
    bin_id: str
    made_at: AwareDatetime
    filling_level: FillingLevel = Field(alias="fillingLevel", description="the latest reading's fill")
    observed_at: AwareDatetime
    rate_per_day: float = Field(ge=0, description="fill gained per day (1.0 = a whole bin)")
    threshold: FillingLevel
    full_at: AwareDatetime | None = Field(None, description="when the fill crosses the threshold")
    reliability: Reliability

    def level_at(self, when: datetime) -> float:
        days = (when - self.observed_at).total_seconds() / 86_400
        return min(1.0, max(0.0, self.filling_level + self.rate_per_day * max(0.0, days)))


def since_emptying(points: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """The readings after the last emptying, in time order: a big drop that the next reading confirms
    (one wild echo is not an emptying)."""
    ordered = sorted(points)
    start = 0
    for i in range(1, len(ordered)):
        low = ordered[i][1]
        if ordered[i - 1][1] - low >= EMPTYING_DROP and (
            i + 1 == len(ordered) or ordered[i + 1][1] - low < 0.15
        ):
            start = i
    return ordered[start:]


def previous_cycle(
    points: Sequence[tuple[datetime, float]], run: Sequence[tuple[datetime, float]]
) -> float | None:
    """The rate of the cycle before the last emptying, when there was a long enough one."""
    earlier = since_emptying([p for p in points if p[0] < run[0][0]]) if run else []
    if len(earlier) < MIN_POINTS or earlier[-1][0] - earlier[0][0] < MIN_SPAN or stuck(earlier):
        return None
    return max(0.0, theil_sen_per_day(earlier))


def stuck(points: Sequence[tuple[datetime, float]]) -> bool:
    """The same reading again and again: ice, a cobweb, a dead transducer; its rate means nothing."""
    tail = [p[1] for p in points[-STUCK_READINGS:]]
    return len(tail) == STUCK_READINGS and max(tail) == min(tail)


def theil_sen_per_day(points: Sequence[tuple[datetime, float]]) -> float:
    """The median of pairwise slopes, per day: one spike or a stuck stretch barely moves it."""
    step = max(1, len(points) // _MAX_POINTS)
    sample = points[::step]
    days = np.array([p[0].timestamp() / 86_400 for p in sample])
    levels = np.array([p[1] for p in sample])
    upper = np.triu_indices(len(sample), k=1)
    dt = (days[None, :] - days[:, None])[upper]
    dl = (levels[None, :] - levels[:, None])[upper]
    later = dt > 0
    return float(np.median(dl[later] / dt[later])) if later.any() else 0.0


def estimate(
    bin_id: str,
    points: Sequence[tuple[datetime, float]],
    *,
    threshold: float,
    now: datetime,
    fallback_rate_per_day: float,
) -> Forecast | None:
    """The bin's forecast from its readings (any order); None when it has none."""
    run = since_emptying(points)
    if not run:
        return None
    span = run[-1][0] - run[0][0]
    before = previous_cycle(points, run)
    if len(run) >= MIN_POINTS and span >= MIN_SPAN and not stuck(run):
        rate = max(0.0, theil_sen_per_day(run))
        good = len(run) >= GOOD_POINTS and span >= GOOD_SPAN
        reliability = Reliability.HIGH if good else Reliability.MEDIUM
    elif before is not None:  # just emptied: the bin fills as it did the cycle before
        rate, reliability = before, Reliability.MEDIUM
    else:
        rate, reliability = fallback_rate_per_day, Reliability.LOW
    observed_at, level = run[-1]
    if level >= threshold:
        full_at: datetime | None = observed_at
    elif rate > 0:
        full_at = observed_at + timedelta(days=(threshold - level) / rate)
    else:
        full_at = None
    return Forecast(
        bin_id=bin_id, made_at=now, filling_level=level, observed_at=observed_at, rate_per_day=rate,
        threshold=threshold, full_at=full_at, reliability=reliability,
    )  # fmt: skip


def fraction_rates(forecasts: Sequence[tuple[str, Forecast]]) -> dict[str, float]:
    """The median own-history rate per fraction: what a bin without history borrows."""
    rates: dict[str, list[float]] = {}
    for fraction, forecast in forecasts:
        if forecast.reliability is not Reliability.LOW:
            rates.setdefault(fraction, []).append(forecast.rate_per_day)
    return {fraction: statistics.median(values) for fraction, values in rates.items()}
