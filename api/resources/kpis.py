"""Daily figures: km, hours, emptyings, fill at emptying, overflows, devices silent (planning/figures.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.auth import READ, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from core.models import Day, Principal
from planning.figures import DailyKpis, day_figures, day_range, days_figures

router = APIRouter(prefix="/v1", tags=["kpis"], responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, Depends(allow(READ))]


@router.get("/kpis/daily", summary="a day's figures (default: today in the tenant's time zone)")
def daily(ctx: Ctx, who: Reader, day: Day | None = None) -> DailyKpis:
    tenant = tenant_of(who)
    now = ctx.clock()
    day = day or now.astimezone(ZoneInfo(ctx.registry.tenant(tenant).timezone)).date()
    return day_figures(ctx.registry, ctx.store, tenant, day, now)


def _days(ctx: Services, who: Principal, start: Day | None, end: Day | None) -> list[DailyKpis]:
    tenant = tenant_of(who)
    now = ctx.clock()
    end = end or now.astimezone(ZoneInfo(ctx.registry.tenant(tenant).timezone)).date()
    start = start or end - timedelta(days=29)
    return days_figures(ctx.registry, ctx.store, tenant, day_range(start, end), now)


@router.get(
    "/kpis/days", responses=responses(422),
    summary="each day's figures from start to end (default: the 30 days to today), oldest first",
)  # fmt: skip
def days(ctx: Ctx, who: Reader, start: Day | None = None, end: Day | None = None) -> list[DailyKpis]:
    return _days(ctx, who, start, end)


@router.get(
    "/exports/kpis.csv", response_class=Response, responses=responses(422),
    summary="each day's figures as CSV (a row a day; default: the 30 days to today), for a spreadsheet",
)  # fmt: skip
def days_csv(ctx: Ctx, who: Reader, start: Day | None = None, end: Day | None = None) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(DailyKpis.model_fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(k.model_dump(mode="json") for k in _days(ctx, who, start, end))
    name = "tomning-kpis.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
