"""A bin's fill ahead: its rate since the last emptying, robust to noise and spikes (Theil–Sen),
on the clock of its kind's weekly rhythm.

Bins fill faster at some hours and days (households in the evening, parks at weekends). A
`Rhythm`, learned from many bins' readings, says how fast bins of a kind fill in each hour of the
week against their mean; a bin's rate is then fitted, and projected, in rhythm time. A bin just
emptied fills as it did the cycle before; one with too little history borrows the rate of similar
bins; `reliability` says which. The uncertainty is a band: the slowest and fastest rates the bin
showed over eight hours or more of its cycle (10 % and 90 %), and the earliest and latest crossing they give.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, PrivateAttr

from core.models import AwareDatetime, FillingLevel, Frozen

MIN_POINTS = 6
MIN_SPAN = timedelta(hours=6)
GOOD_POINTS, GOOD_SPAN = 24, timedelta(hours=24)
_MAX_POINTS = 120  # pairwise slopes over at most this many readings
EMPTYING_DROP = 0.3
STUCK_READINGS = 8
BORROWED_QUANTILE = 0.75
STUCK_EMPTIED_SLACK = timedelta(hours=2)  # an emptying just before the first frozen reading
BAND = (0.1, 0.9)  # the band's quantiles of the rates a bin showed over eight hours or more
# rhythm hours: pairs of readings at least this far apart give the band (bench.forecast: 6 h held the
# true crossing in 82.6 % of cases, 8 h 79.5 %, 12 h 75.8 %, 24 h 71 %, for a nominal 80 %)
BAND_SPAN_H = 8.0
BORROWED_BAND = (0.5, 1.6)  # a borrowed rate, as a share of it: bins of a kind differ that much


class Reliability(StrEnum):
    HIGH = "high"  # a day or more of its own readings since the last emptying
    MEDIUM = "medium"  # some hours of its own readings
    LOW = "low"  # borrowed: its fraction's median rate


WEEK_H = 168
SUNDAY = 6
_MONDAY = date(2024, 1, 1)
HORIZON = timedelta(days=14)  # a crossing further ahead than this is not forecast


class Rhythm:
    """How fast bins fill at each local hour of the week against their mean (the factors average 1).

    Public holidays (`holidays`) run on Sunday's hours: a household fills on Christmas Day, and a park
    on Midsummer Eve, as on a Sunday."""

    def __init__(self, factors: Sequence[float], zone: ZoneInfo, holidays: Iterable[date] = ()) -> None:
        f = np.clip(np.asarray(factors, dtype=float), 0.05, None)
        self.factors = f * WEEK_H / f.sum()
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.factors)])
        self.zone = zone
        self.holidays = sorted(set(holidays))
        self._holiday = frozenset(self.holidays)
        day = [self.cumulative[(w + 1) * 24] - self.cumulative[w * 24] for w in range(7)]
        # what the holidays before a day add to the clock: each a Sunday instead of its weekday
        added = [day[SUNDAY] - day[h.weekday()] for h in self.holidays]
        self._added = np.concatenate([[0.0], np.cumsum(added)])

    @classmethod
    def flat(cls, zone: ZoneInfo) -> Rhythm:
        return cls([1.0] * WEEK_H, zone)

    def slot(self, local: datetime) -> int:
        """The hour of the week whose pace `local` (a local time) has: a holiday's are Sunday's."""
        return (SUNDAY if local.date() in self._holiday else local.weekday()) * 24 + local.hour

    def hours(self, t: datetime) -> float:
        """Rhythm time: hours since a reference Monday, each hour weighted by its factor."""
        local = t.astimezone(self.zone)
        day = local.date()
        weeks = (day - timedelta(days=local.weekday()) - _MONDAY).days // 7
        slot = self.slot(local)
        midnight = slot - local.hour  # the first hour of the day it runs as
        part = (local.minute * 60 + local.second) / 3600
        return float(
            weeks * WEEK_H
            + self.cumulative[local.weekday() * 24]
            + self._added[bisect_left(self.holidays, day)]
            + self.cumulative[slot]
            - self.cumulative[midnight]
            + part * self.factors[slot]
        )

    def when(self, start: datetime, rhythm_hours: float) -> datetime | None:
        """The time at which `rhythm_hours` of rhythm time have passed since `start`, within HORIZON."""
        target, t = self.hours(start) + rhythm_hours, start
        for _ in range(int(HORIZON.total_seconds() // 3600)):
            following = t + timedelta(hours=1)
            at = self.hours(following)
            if at >= target:
                before = self.hours(t)
                return t + timedelta(hours=(target - before) / max(1e-9, at - before))
            t = following
        return None


def learn_rhythm(
    histories: Iterable[Sequence[tuple[datetime, float]]], zone: ZoneInfo, holidays: Iterable[date] = ()
) -> Rhythm:
    """The pooled rhythm of many bins: mean fill gained per hour in each hour of the week, emptyings
    and wild echoes left out; hours with few readings take the overall mean. Readings on `holidays`
    count as Sunday's."""
    holidays = frozenset(holidays)
    sums, counts = np.zeros(WEEK_H), np.zeros(WEEK_H)
    for points in histories:
        for (t0, l0), (t1, l1) in pairwise(sorted(points)):
            step_h = (t1 - t0).total_seconds() / 3600
            gained = l1 - l0
            if 0 < step_h <= 3 and -0.05 < gained < 0.25:
                local = (t0 + (t1 - t0) / 2).astimezone(zone)
                slot = (SUNDAY if local.date() in holidays else local.weekday()) * 24 + local.hour
                sums[slot] += gained / step_h
                counts[slot] += 1
    if counts.sum() < WEEK_H * 5 or sums.sum() <= 0:
        return Rhythm([1.0] * WEEK_H, zone, holidays)
    overall = sums.sum() / counts.sum()
    means = np.where(counts >= 5, sums / np.maximum(counts, 1), overall)
    smooth = (np.roll(means, 1) + 2 * means + np.roll(means, -1)) / 4  # neighbouring hours, wrapping
    return Rhythm(np.clip(smooth, overall * 0.05, None) / overall, zone, holidays)


class Forecast(Frozen):
    bin_id: str
    made_at: AwareDatetime
    filling_level: FillingLevel = Field(alias="fillingLevel", description="the latest reading's fill")
    observed_at: AwareDatetime
    rate_per_day: float = Field(ge=0, description="fill gained per day (1.0 = a whole bin)")
    threshold: FillingLevel
    full_at: AwareDatetime | None = Field(None, description="when the fill crosses the threshold")
    reliability: Reliability
    emptied_at: AwareDatetime | None = Field(
        None, description="the last emptying seen (readings or a driver)"
    )
    rate_band_per_day: tuple[float, float] = Field(
        default=(0.0, 0.0),
        description="the uncertainty: slowest and fastest likely rate (10 % and 90 % of the bin's own "
        "rates over eight hours or more; borrowed rates 0.5 to 1.6 times)",
    )
    full_earliest: AwareDatetime | None = Field(None, description="the crossing at the fastest likely rate")
    full_latest: AwareDatetime | None = Field(
        None, description="the crossing at the slowest likely rate (None: beyond two weeks)"
    )

    _rhythm: Rhythm | None = PrivateAttr(default=None)

    def level_at(self, when: datetime, rate_per_day: float | None = None) -> float:
        """The fill at `when`, at the forecast's rate or at `rate_per_day`."""
        if self._rhythm is None:
            days = (when - self.observed_at).total_seconds() / 86_400
        else:
            days = (self._rhythm.hours(when) - self._rhythm.hours(self.observed_at)) / 24
        rate = self.rate_per_day if rate_per_day is None else rate_per_day
        return min(1.0, max(0.0, self.filling_level + rate * max(0.0, days)))

    def band_at(self, when: datetime) -> tuple[float, float]:
        """The fill at `when` at the slowest and the fastest likely rate."""
        slow, fast = self.rate_band_per_day
        return self.level_at(when, slow), self.level_at(when, fast)


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
) -> list[tuple[datetime, float]] | None:
    """The readings of the cycle before the last emptying, when it was long enough to tell a rate."""
    earlier = since_emptying([p for p in points if p[0] < run[0][0]]) if run else []
    if len(earlier) < MIN_POINTS or earlier[-1][0] - earlier[0][0] < MIN_SPAN or stuck(earlier):
        return None
    return earlier


def stuck(points: Sequence[tuple[datetime, float]]) -> bool:
    """The same reading again and again: ice, a cobweb, a dead transducer; its rate means nothing."""
    tail = [p[1] for p in points[-STUCK_READINGS:]]
    return len(tail) == STUCK_READINGS and max(tail) == min(tail)


def frozen_since(points: Sequence[tuple[datetime, float]]) -> tuple[datetime, float]:
    """The first of the identical readings a stuck sensor ends with."""
    last = points[-1][1]
    k = len(points) - 1
    while k > 0 and points[k - 1][1] == last:
        k -= 1
    return points[k]


def _slopes(points: Sequence[tuple[datetime, float]], rhythm: Rhythm | None) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of readings (at most `_MAX_POINTS`, evenly taken): (days apart, fill per day)."""
    step = max(1, len(points) // _MAX_POINTS)
    sample = points[::step]
    clock = (lambda t: t.timestamp() / 86_400) if rhythm is None else (lambda t: rhythm.hours(t) / 24)
    days = np.array([clock(p[0]) for p in sample])
    levels = np.array([p[1] for p in sample])
    upper = np.triu_indices(len(sample), k=1)
    dt = (days[None, :] - days[:, None])[upper]
    dl = (levels[None, :] - levels[:, None])[upper]
    later = dt > 0
    return dt[later], dl[later] / dt[later]


def rate_and_band(
    points: Sequence[tuple[datetime, float]], rhythm: Rhythm | None
) -> tuple[float, tuple[float, float]]:
    """The bin's rate, per (rhythm) day: the median of pairwise slopes (Theil–Sen: one spike or a stuck
    stretch barely moves it), at least zero; and how slow and how fast it may go on: the 10 % and
    90 % quantiles of the rates it showed between readings eight (rhythm) hours or more apart (all
    pairs when it has fewer than three such), always around the rate."""
    gaps, slopes = _slopes(points, rhythm)
    if not len(slopes):
        return 0.0, (0.0, 0.0)
    rate = max(0.0, float(np.median(slopes)))
    wide = slopes[gaps >= BAND_SPAN_H / 24]
    low, high = (float(q) for q in np.quantile(wide if len(wide) >= 3 else slopes, BAND))
    return rate, (max(0.0, min(low, rate)), max(high, rate))


def _crossing(
    level: float, threshold: float, rate: float, observed_at: datetime, rhythm: Rhythm | None
) -> datetime | None:
    """When a bin at `level` at `observed_at`, filling at `rate`, crosses `threshold` (None: not within
    the horizon, or never)."""
    if level >= threshold:
        return observed_at
    if rate > 0 and rhythm is not None:
        return rhythm.when(observed_at, (threshold - level) / rate * 24)
    if rate > 0 and (threshold - level) / rate <= HORIZON.days:
        return observed_at + timedelta(days=(threshold - level) / rate)
    return None


def estimate(
    bin_id: str,
    points: Sequence[tuple[datetime, float]],
    *,
    threshold: float,
    now: datetime,
    fallback_rate_per_day: float,
    rhythm: Rhythm | None = None,
    emptied_at: datetime | None = None,
) -> Forecast | None:
    """The bin's forecast from its readings (any order); None when it has none. `emptied_at`: a
    known emptying (a driver's report), else the last one the readings show, if any."""
    run = since_emptying(points)
    if not run:
        return None
    if len(run) < len(points) and (emptied_at is None or run[0][0] > emptied_at):
        emptied_at = run[0][0]  # the readings show a later emptying than the one known
    span = run[-1][0] - run[0][0]
    if len(run) >= MIN_POINTS and span >= MIN_SPAN and not stuck(run):
        rate, band = rate_and_band(run, rhythm)
        good = len(run) >= GOOD_POINTS and span >= GOOD_SPAN
        reliability = Reliability.HIGH if good else Reliability.MEDIUM
    elif (before := previous_cycle(points, run)) is not None:  # just emptied: as the cycle before
        (rate, band), reliability = rate_and_band(before, rhythm), Reliability.MEDIUM
    else:
        rate, reliability = fallback_rate_per_day, Reliability.LOW
        band = (rate * BORROWED_BAND[0], rate * BORROWED_BAND[1])
    observed_at, level = run[-1]
    if stuck(run):  # nothing seen since it froze: the fill grows from then, or from an emptying after it
        observed_at, level = frozen_since(run)
        if emptied_at is not None and emptied_at >= observed_at - STUCK_EMPTIED_SLACK:
            observed_at, level = emptied_at, 0.0
    forecast = Forecast(
        bin_id=bin_id, made_at=now, filling_level=level, observed_at=observed_at, rate_per_day=rate,
        threshold=threshold, full_at=_crossing(level, threshold, rate, observed_at, rhythm),
        reliability=reliability, emptied_at=emptied_at, rate_band_per_day=band,
        full_earliest=_crossing(level, threshold, band[1], observed_at, rhythm),
        full_latest=_crossing(level, threshold, band[0], observed_at, rhythm),
    )  # fmt: skip
    forecast._rhythm = rhythm
    return forecast


def fraction_rates(
    forecasts: Sequence[tuple[str, Forecast]], *, at_least: int = 1, quantile: float = BORROWED_QUANTILE
) -> dict[str, float]:
    """The rate per group (a fraction, or a fraction in a district) of at least `at_least` bins, at a
    quantile of its members' own-history rates: what a bin without history borrows. Above the median
    by default: a bin nobody can see had better be emptied a little early than overflow."""
    rates: dict[str, list[float]] = {}
    for group, forecast in forecasts:
        if forecast.reliability is not Reliability.LOW:
            rates.setdefault(group, []).append(forecast.rate_per_day)
    chosen = {group: values for group, values in rates.items() if len(values) >= at_least}
    return {group: float(np.quantile(values, quantile)) for group, values in chosen.items()}
