"""Events, and the alerts among them: list, filter, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import DISPATCH, READ, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from api.resources.common import Number, Page, PagingQuery, page
from core.errors import InvalidInput
from core.models import Alert, AlertStatus, AwareDatetime, Event, EventKind, Id, Principal

router = APIRouter(prefix="/v1", responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, Depends(allow(READ))]
Dispatcher = Annotated[Principal, Depends(allow(DISPATCH))]


REPORTS = (EventKind.COLLECTED, EventKind.SKIPPED)  # drivers' reports: webhooks post them, outcomes list them


@router.get("/events", tags=["alerts"], summary="what happened to bins and devices, newest first",
            responses=responses(422))  # fmt: skip
def list_events(
    request: Request, ctx: Ctx, who: Reader, paging: PagingQuery, kind: EventKind | None = None,
    bin_id: Id | None = None, since: AwareDatetime | None = None,
) -> Page[Event]:  # fmt: skip
    if kind in REPORTS:
        raise InvalidInput(f"{kind.value!r} is a driver's report, not a sensor's event: "
                           "GET /v1/plans/{plan_id}/outcomes lists them")  # fmt: skip
    found = ctx.registry.events(tenant_of(who), kind=kind.value if kind else None, bin_id=bin_id, since=since)
    found.reverse()
    return Page[Event].model_validate(page(request, found, paging))


@router.get("/alerts", tags=["alerts"], summary="alerts (full, fire risk, tilted, low battery, silent)")
def list_alerts(
    request: Request, ctx: Ctx, who: Reader, paging: PagingQuery, status: AlertStatus | None = None,
    kind: EventKind | None = None, bin_id: Id | None = None, since: AwareDatetime | None = None,
) -> Page[Alert]:  # fmt: skip
    found, total = ctx.registry.alerts(
        tenant_of(who), status=status, kind=kind.value if kind else None, bin_id=bin_id, since=since,
        limit=paging.limit, offset=paging.offset,
    )  # fmt: skip
    return Page[Alert].model_validate(page(request, found, paging, total=total))


@router.get("/alerts/{alert_id}", tags=["alerts"], responses=responses(404))
def get_alert(alert_id: Number, ctx: Ctx, who: Reader) -> Alert:
    return ctx.registry.alert(tenant_of(who), alert_id)


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"], responses=responses(404, 409))
def acknowledge(alert_id: Number, ctx: Ctx, who: Dispatcher) -> Alert:
    return ctx.registry.set_alert_status(
        tenant_of(who), alert_id, AlertStatus.ACKNOWLEDGED, who.key_id, ctx.clock()
    )


@router.post("/alerts/{alert_id}/resolve", tags=["alerts"], responses=responses(404, 409))
def resolve(alert_id: Number, ctx: Ctx, who: Dispatcher) -> Alert:
    return ctx.registry.set_alert_status(
        tenant_of(who), alert_id, AlertStatus.RESOLVED, who.key_id, ctx.clock()
    )
