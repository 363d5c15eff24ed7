"""Daily figures: km, hours, emptyings, fill at emptying, overflows, devices silent (api/figures.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends

from api.auth import READ, allow, tenant_of
from api.context import Services, services
from api.figures import DailyKpis, day_figures
from api.problems import responses
from core.models import Principal

router = APIRouter(prefix="/v1", tags=["kpis"], responses=responses(401, 403))


@router.get("/kpis/daily", summary="a day's figures (default: today in the tenant's time zone)")
def daily(ctx: Annotated[Services, Depends(services)], who: Annotated[Principal, Depends(allow(READ))],
          day: date | None = None) -> DailyKpis:  # fmt: skip
    tenant = tenant_of(who)
    now = ctx.clock()
    day = day or now.astimezone(ZoneInfo(ctx.registry.tenant(tenant).timezone)).date()
    return day_figures(ctx.registry, ctx.store, tenant, day, now)
