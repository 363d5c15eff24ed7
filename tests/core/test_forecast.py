"""The fill forecast: robust rates, emptyings told from echoes, stuck sensors, the weekly rhythm."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.forecast import Reliability, Rhythm, estimate, learn_rhythm, since_emptying, stuck

STOCKHOLM = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday


def hourly(
    hours: int, rate_per_h: float, start: float = 0.05, t0: datetime = T0
) -> list[tuple[datetime, float]]:
    return [(t0 + timedelta(hours=h), start + rate_per_h * h) for h in range(hours)]


def test_a_steady_bin_is_forecast_to_the_hour() -> None:
    points = hourly(48, 0.01)  # 1 % an hour from 5 %
    f = estimate("b", points, threshold=0.8, now=T0 + timedelta(hours=48), fallback_rate_per_day=0.1)
    assert f is not None
    assert f.reliability is Reliability.HIGH
    assert f.rate_per_day == pytest.approx(0.24)
    assert f.full_at == pytest.approx(T0 + timedelta(hours=75), abs=timedelta(minutes=1))  # type: ignore[arg-type]


def test_a_wild_echo_is_not_an_emptying_and_barely_moves_the_rate() -> None:
    points = hourly(48, 0.01)
    points[30] = (points[30][0], 0.0)  # one echo off the bottom
    assert since_emptying(points)[0] == points[0]
    f = estimate("b", points, threshold=0.8, now=T0 + timedelta(hours=48), fallback_rate_per_day=0.1)
    assert f is not None
    assert f.rate_per_day == pytest.approx(0.24, rel=0.05)


def test_after_an_emptying_the_bin_fills_as_it_did_the_cycle_before() -> None:
    before = hourly(40, 0.02)  # 2 % an hour, to 83 %
    after = hourly(3, 0.02, start=0.02, t0=T0 + timedelta(hours=40))
    assert since_emptying(before + after) == after
    f = estimate("b", before + after, threshold=0.8, now=T0 + timedelta(hours=43), fallback_rate_per_day=0.05)
    assert f is not None
    assert f.reliability is Reliability.MEDIUM
    assert f.rate_per_day == pytest.approx(0.48, rel=0.02)


def test_a_stuck_sensor_borrows_a_rate_and_says_so() -> None:
    flat = [(T0 + timedelta(hours=h), 0.4) for h in range(24)]
    assert stuck(flat)
    f = estimate("b", flat, threshold=0.8, now=T0 + timedelta(hours=24), fallback_rate_per_day=0.2)
    assert f is not None
    assert (f.reliability, f.rate_per_day) == (Reliability.LOW, 0.2)


def test_a_frozen_reading_is_not_taken_for_the_fill_now() -> None:
    # it filled 1 % an hour for a day, then froze at 29 % for two days: the bin went on filling since
    moving = hourly(25, 0.01, start=0.05)
    frozen = [(T0 + timedelta(hours=h), moving[-1][1]) for h in range(25, 73)]
    now = T0 + timedelta(hours=72)
    f = estimate("b", moving + frozen, threshold=0.8, now=now, fallback_rate_per_day=0.2)
    assert f is not None
    assert f.reliability is Reliability.LOW
    assert f.observed_at == T0 + timedelta(hours=24)  # the last reading that moved
    assert f.level_at(now) == pytest.approx(0.29 + 0.2 * 2, abs=0.01)
    # emptied (a driver said so) while frozen: the reading still says 29 %, the bin starts from empty
    emptied = T0 + timedelta(hours=60)
    after = [p for p in frozen if p[0] > emptied]
    f = estimate("b", after, threshold=0.8, now=now, fallback_rate_per_day=0.2, emptied_at=emptied)
    assert f is not None
    assert (f.observed_at, f.filling_level) == (emptied, 0.0)
    assert f.level_at(now) == pytest.approx(0.1, abs=0.01)


def test_the_rhythm_is_learned_and_forecasts_on_its_clock() -> None:
    # bins that fill only between 08:00 and 20:00 local time, 2 % an hour then
    def busy(t: datetime) -> bool:
        return 8 <= t.astimezone(STOCKHOLM).hour < 20

    histories = []
    for _ in range(20):
        level, points = 0.0, []
        for h in range(14 * 24):
            t = T0 + timedelta(hours=h)
            level += 0.02 if busy(t) else 0.0
            points.append((t, level % 0.9))
        histories.append(points)
    rhythm = learn_rhythm(histories, STOCKHOLM)
    assert rhythm.factors[10] > 1.5
    assert rhythm.factors[3] < 0.3
    evening = T0 + timedelta(hours=19)  # Monday 20:00 in Stockholm: the quiet night ahead
    points = [(evening - timedelta(hours=12 - h), 0.1 + 0.02 * h) for h in range(12)]
    f = estimate("b", points, threshold=0.5, now=evening, fallback_rate_per_day=0.1, rhythm=rhythm)
    assert f is not None
    assert f.full_at is not None
    local = f.full_at.astimezone(STOCKHOLM)
    assert local.date() == (evening + timedelta(days=1)).astimezone(STOCKHOLM).date()
    assert 8 <= local.hour < 20  # not during the night, as a flat rate would say
    flat = Rhythm.flat(STOCKHOLM)
    assert flat.hours(T0 + timedelta(hours=5)) - flat.hours(T0) == pytest.approx(5)


def test_the_band_holds_the_rates_a_wavering_bin_showed_and_brackets_the_crossing() -> None:
    # fills 0.6 %/h by day and 1.4 %/h by night, alternating every 12 hours: 1 %/h on the whole
    points, level = [], 0.05
    for h in range(60):
        points.append((T0 + timedelta(hours=h), level))
        level += 0.006 if (h // 12) % 2 == 0 else 0.014
    now = T0 + timedelta(hours=60)
    f = estimate("b", points, threshold=0.9, now=now, fallback_rate_per_day=0.1)
    assert f is not None
    slow, fast = f.rate_band_per_day
    assert slow < f.rate_per_day < fast
    assert 0.006 * 24 <= slow <= 0.011 * 24
    assert 0.009 * 24 <= fast <= 0.014 * 24
    assert f.full_earliest is not None
    assert f.full_at is not None
    assert f.full_latest is not None
    assert f.full_earliest < f.full_at < f.full_latest
    low, high = f.band_at(now + timedelta(hours=12))
    assert low < f.level_at(now + timedelta(hours=12)) < high


def test_a_steady_bin_has_a_narrow_band_and_a_borrowed_rate_a_wide_one() -> None:
    steady = estimate(
        "b", hourly(48, 0.01), threshold=0.8, now=T0 + timedelta(hours=48), fallback_rate_per_day=0.1
    )
    assert steady is not None
    assert steady.rate_band_per_day == pytest.approx((0.24, 0.24), rel=0.01)
    silent = estimate(
        "b", hourly(2, 0.01), threshold=0.8, now=T0 + timedelta(hours=2), fallback_rate_per_day=0.2
    )
    assert silent is not None
    assert silent.reliability is Reliability.LOW
    assert silent.rate_band_per_day == pytest.approx((0.1, 0.32))


def _weekends_twice_as_fast() -> list[float]:
    return [2.0 if slot >= 5 * 24 else 1.0 for slot in range(168)]


def test_a_public_holiday_runs_on_sundays_hours_and_the_clock_stays_continuous() -> None:
    christmas = date(2026, 12, 25)  # a Friday
    plain = Rhythm(_weekends_twice_as_fast(), STOCKHOLM)
    festive = Rhythm(_weekends_twice_as_fast(), STOCKHOLM, holidays=[christmas, date(2026, 12, 24)])

    def local(day: date, hour: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)

    def day_length(rhythm: Rhythm, day: date) -> float:
        return rhythm.hours(local(day + timedelta(days=1))) - rhythm.hours(local(day))

    unit = day_length(plain, date(2026, 12, 23))  # a Wednesday: a weekday's rhythm hours
    assert day_length(plain, christmas) == pytest.approx(unit)
    assert day_length(festive, christmas) == pytest.approx(2 * unit)  # as Sunday, twice as fast
    assert day_length(festive, date(2026, 12, 23)) == pytest.approx(unit)
    assert day_length(festive, date(2026, 12, 28)) == pytest.approx(unit)  # Monday after: a weekday again
    # after the holidays the clock runs on, two weekdays' worth ahead; before them, as it was
    span = festive.hours(local(date(2027, 1, 4))) - festive.hours(local(date(2026, 12, 21)))
    assert span == pytest.approx(
        plain.hours(local(date(2027, 1, 4))) - plain.hours(local(date(2026, 12, 21))) + 2 * unit
    )
    assert festive.hours(local(date(2026, 12, 1), 9)) - festive.hours(
        local(date(2026, 11, 30))
    ) == pytest.approx(plain.hours(local(date(2026, 12, 1), 9)) - plain.hours(local(date(2026, 11, 30))))
    # within the day the hours still add up, and the clock's inverse finds the same moment
    noon = local(christmas, 12)
    assert festive.hours(noon) - festive.hours(local(christmas)) == pytest.approx(unit)  # half a doubled day
    assert festive.when(local(christmas), unit) == pytest.approx(noon, abs=timedelta(minutes=1))  # type: ignore[arg-type]


def test_over_christmas_a_bin_that_fills_faster_on_sundays_is_due_sooner() -> None:
    # a park bin steady at 1 % an hour on weekdays, twice that on Sundays (and so on holidays)
    plain = Rhythm(_weekends_twice_as_fast(), STOCKHOLM)
    festive = Rhythm(_weekends_twice_as_fast(), STOCKHOLM, holidays=[date(2026, 12, 24), date(2026, 12, 25)])
    now = datetime(2026, 12, 23, 6, tzinfo=STOCKHOLM)
    points = hourly(24, 0.01, start=0.1, t0=now - timedelta(hours=24))
    seen = {
        name: estimate("b", points, threshold=0.9, now=now, fallback_rate_per_day=0.1, rhythm=rhythm)
        for name, rhythm in (("plain", plain), ("festive", festive))
    }
    late, soon = seen["plain"], seen["festive"]
    assert late is not None
    assert soon is not None
    assert late.full_at is not None
    assert soon.full_at is not None
    assert soon.full_at < late.full_at - timedelta(hours=8)
    evening = now + timedelta(hours=36)  # Christmas Eve, 18:00: 0.69 on a weekday's pace, 0.87 on a Sunday's
    assert soon.level_at(evening) == pytest.approx(late.level_at(evening) + 0.18, abs=0.02)


def test_readings_on_a_holiday_teach_sundays_pace_not_their_weekdays() -> None:
    # bins fill 2 %/h on Sundays and on Wednesday 2026-11-11 (made a holiday), 1 %/h otherwise
    holiday = date(2026, 11, 11)
    histories = []
    for _ in range(20):
        level, points = 0.0, []
        for h in range(3 * 7 * 24):
            t = T0 + timedelta(hours=h)
            day = t.astimezone(STOCKHOLM).date()
            level += 0.02 if day == holiday or day.weekday() == 6 else 0.01
            points.append((t, level % 0.9))
        histories.append(points)
    taught = learn_rhythm(histories, STOCKHOLM, holidays=[holiday])
    naive = learn_rhythm(histories, STOCKHOLM)
    tuesday, wednesday, sunday = (slice(d * 24 + 2, d * 24 + 22) for d in (1, 2, 6))  # away from midnight
    assert taught.factors[wednesday].mean() == pytest.approx(taught.factors[tuesday].mean(), rel=0.05)
    assert naive.factors[wednesday].mean() > 1.2 * naive.factors[tuesday].mean()  # one fast day in three
    assert taught.factors[sunday].mean() > 1.8 * taught.factors[wednesday].mean()
