"""Selection: which bins are due, which may be emptied, and what leaving each out costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from core.forecast import Forecast
from core.models import (
    Bin,
    Fraction,
)

# a due bin is left out only when the trucks cannot take it at all: a plan with the rest and a reason,
# rather than no plan
DUE_PENALTY_M = 10_000_000.0
URGENT_PENALTY_M = 100 * DUE_PENALTY_M  # a fire risk is left behind last of all


def select(
    bins: Sequence[Bin],
    predicted: Mapping[str, Forecast],
    *,
    collection: datetime,
    next_collection: datetime,
    optional_from: float,
    safety: float = 1.0,
    max_interval_days: Mapping[Fraction, float] | None = None,
    min_interval_days: Mapping[Fraction, float] | None = None,
    fastest: bool = False,
) -> dict[str, tuple[Bin, float, bool]]:
    """Which bins a day collects: {bin id: (bin, fill at collection, mandatory)}.

    Mandatory: its forecast crosses its threshold before the next collection day could reach it (with
    `fastest`, at the fastest rate of its band), or its fraction's longest interval would pass first
    (a bin with no emptying seen is overdue).
    Optional (a penalty growing with its fill): at `optional_from` or more when collected today, and
    not sooner than its fraction's shortest interval after the last emptying. A bin without a forecast
    (a silent sensor, never seen emptied) comes along as if full.
    """
    longest, shortest = max_interval_days or {}, min_interval_days or {}
    stops: dict[str, tuple[Bin, float, bool]] = {}
    for b in bins:
        f = predicted.get(b.id)
        if f is None:  # a silent sensor, never seen emptied: taken along as if full, and the report tells
            stops[b.id] = (b, 1.0, False)
            continue
        fill = f.level_at(collection)
        limit = longest.get(b.fraction)
        overdue = limit is not None and (
            f.emptied_at is None or next_collection - f.emptied_at > timedelta(days=limit)
        )
        early = b.fraction in shortest and f.emptied_at is not None and (
            collection - f.emptied_at < timedelta(days=shortest[b.fraction])
        )  # fmt: skip
        ahead = f.band_at(next_collection)[1] if fastest else f.level_at(next_collection)
        if overdue or f.filling_level + (ahead - f.filling_level) * safety >= b.threshold:
            stops[b.id] = (b, fill, True)
        elif fill >= optional_from and not early:
            stops[b.id] = (b, fill, False)
    return stops
