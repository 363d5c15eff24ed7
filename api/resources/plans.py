"""The fleet, plans (create, re-plan, approve, dispatch), their routes and exports, drivers' outcomes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import exports
from api.auth import DISPATCH, HANDOVER, READ, REPORT, ROUTES, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from api.resources.admin import issue
from api.resources.common import Number, Page, PagingQuery, page
from core.errors import Conflict, InvalidInput, NotFound
from core.models import (
    AwareDatetime,
    BreakTaken,
    ClientId,
    Day,
    Id,
    LeftOut,
    Outcome,
    OutcomeStatus,
    Plan,
    PlanChoices,
    PlannedRoute,
    PlanStatus,
    Principal,
    Role,
    SkipReason,
)
from planning.calendar import day_off, next_workday
from planning.day import make_plan
from planning.figures import record_after
from planning.fleet import FleetSpec, fleet_of, saved_fleet
from planning.progress import without_reported

router = APIRouter(prefix="/v1", responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]
Reader = Annotated[Principal, Depends(allow(READ))]
Dispatcher = Annotated[Principal, Depends(allow(DISPATCH))]
RouteReader = Annotated[Principal, Depends(allow(ROUTES))]
Reporter = Annotated[Principal, Depends(allow(REPORT))]


@router.get("/fleet", tags=["plans"], responses=responses(404), summary="depots, facilities and trucks")
def get_fleet(ctx: Ctx, who: Reader) -> FleetSpec:
    if (fleet := saved_fleet(ctx.registry, tenant_of(who))) is None:
        raise NotFound("the tenant has no fleet yet: PUT /v1/fleet")
    return fleet


@router.put("/fleet", tags=["plans"], responses=responses(422), summary="set depots, facilities and trucks")
def put_fleet(fleet: FleetSpec, ctx: Ctx, who: Dispatcher) -> FleetSpec:
    ctx.registry.save_fleet(tenant_of(who), fleet.model_dump(mode="json"))
    return fleet


class CalendarDay(BaseModel):
    day: Day
    working: bool
    off: str | None = Field(None, description="why the trucks do not run: a weekday off, a holiday, closed")


class Calendar(BaseModel):
    next_working_day: Day = Field(description="the first working day after `after`: what to plan next")
    days: list[CalendarDay]


@router.get(
    "/calendar", tags=["plans"], responses=responses(404, 422),
    summary="the fleet's working days: weekdays, public holidays, closed days",
)  # fmt: skip
def calendar(
    ctx: Ctx, who: Reader,
    after: Annotated[Day | None, Query(description="default: today, local time")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 14,
    lang: Annotated[Literal["en", "sv"], Query(description="language of the reasons")] = "en",
) -> Calendar:  # fmt: skip
    """The `days` days after `after`, each working or not and why, and the next working day."""
    fleet = get_fleet(ctx, who)
    tenant = ctx.registry.tenant(tenant_of(who))
    start = after or ctx.clock().astimezone(ZoneInfo(tenant.timezone)).date()
    if start >= date.max - timedelta(days=days + 30):
        raise InvalidInput("after: too far ahead")
    listed = [start + timedelta(days=n) for n in range(1, days + 1)]
    return Calendar(
        next_working_day=next_workday(start, fleet),
        days=[CalendarDay(day=d, working=(off := day_off(fleet, d, lang)) is None, off=off) for d in listed],
    )


class PlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"day": "2026-11-24"},
        {"day": "2026-11-24", "include": ["kalmar-0880-147788-paper"],
         "exclude": ["kalmar-0880-147789-paper"], "vehicles_off": ["truck-2"]},
    ]})  # fmt: skip

    day: Day
    time_limit_s: float | None = Field(None, gt=0, le=600, description="route search; default from settings")
    include: list[Id] = Field(default=[], max_length=10_000, description="bins collected whatever their fill")
    exclude: list[Id] = Field(default=[], max_length=10_000, description="bins not collected that day")
    vehicles_off: list[str] = Field(
        default=[], max_length=1_000, description="trucks that do not run that day"
    )

    def choices(self) -> PlanChoices:
        return _valid(PlanChoices, self.model_dump(include={"include", "exclude", "vehicles_off"}))


class ReplanRequest(BaseModel):
    time_limit_s: float | None = Field(None, gt=0, le=600)
    include: list[Id] | None = Field(None, max_length=10_000, description="default: the replaced plan's")
    exclude: list[Id] | None = Field(None, max_length=10_000, description="default: the replaced plan's")
    vehicles_off: list[str] | None = Field(None, max_length=1_000, description="default: the replaced plan's")

    def choices(self, before: PlanChoices) -> PlanChoices | None:
        """The replaced plan's choices with those asked for instead; None when none are (the re-plan keeps
        them, less bins and trucks gone since)."""
        asked = {
            k: tuple(v) for k in ("include", "exclude", "vehicles_off") if (v := getattr(self, k)) is not None
        }
        return _valid(PlanChoices, before.model_dump() | asked) if asked else None


Valid = TypeVar("Valid", bound=BaseModel)


def _valid(model: type[Valid], fields: dict[str, Any]) -> Valid:
    """`model` from `fields`, or a 422 with what its own checks say (e.g. bins both in and out)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc


def _search_time(ctx: Services, asked: float | None) -> float:
    return min(asked or ctx.settings.api.plan_time_limit_s, ctx.settings.api.plan_time_limit_max_s)


@router.post(
    "/plans", tags=["plans"], status_code=201, responses=responses(409, 422),
    summary="forecast, select and route a day: a draft plan",
)  # fmt: skip
def create_plan(body: PlanRequest, ctx: Ctx, who: Dispatcher) -> Plan:
    tenant = tenant_of(who)
    made = make_plan(
        ctx.registry, ctx.store, tenant=tenant, day=body.day, fleet=fleet_of(ctx.registry, tenant),
        created_by=who.key_id, now=ctx.clock(), time_limit_s=_search_time(ctx, body.time_limit_s),
        choices=body.choices(),
    )  # fmt: skip
    return ctx.registry.add_plan(made)


@router.get("/plans", tags=["plans"], summary="plans, newest day first")
def list_plans(
    request: Request, ctx: Ctx, who: Reader, paging: PagingQuery, day: Day | None = None,
    status: PlanStatus | None = None,
) -> Page[Plan]:  # fmt: skip
    found = ctx.registry.plans(tenant_of(who), day=day, status=status, limit=1_000_000)
    return Page[Plan].model_validate(page(request, found, paging))


@router.get("/plans/{plan_id}", tags=["plans"], responses=responses(404))
def get_plan(plan_id: Number, ctx: Ctx, who: Reader) -> Plan:
    return ctx.registry.plan(tenant_of(who), plan_id)


def _expect(plan: Plan, source: PlanStatus, target: PlanStatus) -> None:
    if plan.status is not source:
        raise Conflict(
            f"plan {plan.id} is {plan.status.value}: only a {source.value} plan can be {target.value}"
        )


def _move(ctx: Services, who: Principal, plan_id: Number, source: PlanStatus, target: PlanStatus) -> Plan:
    plan = ctx.registry.plan(tenant_of(who), plan_id)
    _expect(plan, source, target)
    return ctx.registry.set_plan_status(plan.tenant, plan_id, target)


@router.post("/plans/{plan_id}/approve", tags=["plans"], responses=responses(404, 409))
def approve(plan_id: Number, ctx: Ctx, who: Dispatcher) -> Plan:
    return _move(ctx, who, plan_id, PlanStatus.DRAFT, PlanStatus.APPROVED)


@router.post(
    "/plans/{plan_id}/dispatch", tags=["plans"], responses=responses(404, 409),
    summary="send an approved plan to the drivers",
)  # fmt: skip
def dispatch(plan_id: Number, ctx: Ctx, who: Dispatcher) -> Plan:
    """A re-plan, once dispatched, supersedes the plan it replaces; bins its drivers reported on meanwhile
    (they kept driving the old one) leave the new routes, which are timed again from where the trucks
    are now."""
    plan = ctx.registry.plan(tenant_of(who), plan_id)
    _expect(plan, PlanStatus.APPROVED, PlanStatus.DISPATCHED)
    if plan.replaces is not None:
        replaced = ctx.registry.plan(plan.tenant, plan.replaces)
        outcomes = ctx.registry.outcomes(plan.tenant, plan_id=plan.replaces)
        bins = {b.id: b for b in ctx.registry.bins(plan.tenant)}
        routes, gone = without_reported(plan, replaced, outcomes, fleet_of(ctx.registry, plan.tenant), bins)
        why = "reported on the plan this one replaces, after the re-plan"
        left_out = plan.left_out + tuple(LeftOut(bin_id=k, reason=why, code="reported") for k in gone)
        plan = plan.model_copy(update={"routes": routes, "left_out": left_out})
    sent = ctx.registry.dispatch_plan(plan)
    record_after(ctx.registry, ctx.store, sent.tenant, [sent.day], ctx.clock())  # the day as planned
    return sent


@router.post(
    "/plans/{plan_id}/replan", tags=["plans"], status_code=201, responses=responses(404, 409, 422),
    summary="plan the rest of the day again (after an urgent event); bins already reported stay done",
)  # fmt: skip
def replan(plan_id: Number, body: ReplanRequest, ctx: Ctx, who: Dispatcher) -> Plan:
    tenant = tenant_of(who)
    old = ctx.registry.plan(tenant, plan_id)
    if old.status is PlanStatus.SUPERSEDED:
        raise Conflict(f"plan {plan_id} was replaced already: re-plan its successor")
    made = make_plan(  # what drivers reported stays done; their trucks set off from where they are
        ctx.registry, ctx.store, tenant=tenant, day=old.day, fleet=fleet_of(ctx.registry, tenant),
        created_by=who.key_id, now=ctx.clock(), time_limit_s=_search_time(ctx, body.time_limit_s),
        replaces=plan_id, choices=body.choices(old.choices),
    )  # fmt: skip
    return ctx.registry.add_plan(made)


# routes: a driver sees only their own, and only once dispatched


def _route(ctx: Services, who: Principal, plan_id: Number, index: Number) -> tuple[Plan, PlannedRoute]:
    plan = ctx.registry.plan(tenant_of(who), plan_id)
    route = next((r for r in plan.routes if r.index == index), None)
    if route is None or (who.role is Role.DRIVER and not _drives(who, plan, route)):
        raise NotFound(f"route {index} of plan {plan_id} not found")
    return plan, route


def _drives(who: Principal, plan: Plan, route: PlannedRoute, *, reporting: bool = False) -> bool:
    """Whether `who` drives this route of a dispatched plan (or, for a report a phone kept while offline,
    of one re-planned since)."""
    live = (PlanStatus.DISPATCHED, PlanStatus.SUPERSEDED) if reporting else (PlanStatus.DISPATCHED,)
    return plan.status in live and route.driver is not None and route.driver == who.subject


class RouteView(BaseModel):
    """A route with what its driver has reported so far."""

    plan_id: Number
    day: Day
    plan_status: PlanStatus
    route: PlannedRoute
    outcomes: list[Outcome]
    breaks_taken: list[BreakTaken] = Field(
        default_factory=list,
        description="breaks its truck's driver reported begun that day, on any of its plans",
    )


def _view(ctx: Services, plan: Plan, route: PlannedRoute) -> RouteView:
    on_route = {v.id for v in route.visits if v.kind == "bin"}
    reported = [o for o in ctx.registry.outcomes(plan.tenant, plan_id=plan.id) if o.bin_id in on_route]
    taken = [b for b in ctx.registry.breaks_taken(plan.tenant, day=plan.day) if b.vehicle == route.vehicle]
    return RouteView(plan_id=plan.id, day=plan.day, plan_status=plan.status, route=route, outcomes=reported,
                     breaks_taken=taken)  # fmt: skip


@router.get("/plans/{plan_id}/routes/{index}", tags=["routes"], responses=responses(404))
def get_route(plan_id: Number, index: Number, ctx: Ctx, who: RouteReader) -> RouteView:
    return _view(ctx, *_route(ctx, who, plan_id, index))


@router.get(
    "/my/routes", tags=["routes"], summary="the caller's routes on a day (default today): for drivers",
)  # fmt: skip
def my_routes(ctx: Ctx, who: RouteReader, day: Day | None = None) -> list[RouteView]:
    tenant = tenant_of(who)
    day = day or ctx.clock().astimezone(ZoneInfo(ctx.registry.tenant(tenant).timezone)).date()
    plans = ctx.registry.plans(tenant, day=day, status=PlanStatus.DISPATCHED)
    return [_view(ctx, p, r) for p in plans for r in p.routes if _drives(who, p, r)]


@router.get(
    "/plans/{plan_id}/routes/{index}/gpx", tags=["routes"], responses=responses(404),
    response_class=Response, summary="the route as GPX 1.1",
)  # fmt: skip
def route_gpx(plan_id: Number, index: Number, ctx: Ctx, who: RouteReader) -> Response:
    plan, route = _route(ctx, who, plan_id, index)
    name = f"plan-{plan_id}-route-{index}.gpx"
    return Response(exports.gpx(plan, route), media_type="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get(
    "/plans/{plan_id}/routes/{index}/geojson", tags=["routes"], responses=responses(404),
    response_class=Response, summary="the route as GeoJSON: its line and its stops",
)  # fmt: skip
def route_geojson(plan_id: Number, index: Number, ctx: Ctx, who: RouteReader) -> Response:
    return Response(exports.geojson(*_route(ctx, who, plan_id, index)), media_type="application/geo+json")


@router.get(
    "/plans/{plan_id}/routes/{index}/csv", tags=["routes"], responses=responses(404),
    response_class=Response, summary="the route's stops as CSV",
)  # fmt: skip
def route_csv(plan_id: Number, index: Number, ctx: Ctx, who: RouteReader) -> Response:
    _, route = _route(ctx, who, plan_id, index)
    return Response(exports.csv_text(route), media_type="text/csv; charset=utf-8")


class Handover(BaseModel):
    """A one-time link that signs the route's driver in on a phone; its QR code, to scan off a screen."""

    url: str
    qr_svg: str
    expires_at: datetime


@router.post(
    "/plans/{plan_id}/routes/{index}/handover", tags=["routes"], responses=responses(404, 409),
    summary="a one-time link (and its QR code) that opens the route on the driver's phone",
)  # fmt: skip
def handover(plan_id: Number, index: Number, ctx: Ctx, who: Dispatcher) -> Handover:
    plan, route = _route(ctx, who, plan_id, index)
    if route.driver is None:
        raise Conflict(f"route {index} of plan {plan_id} has no driver: name one in the fleet")
    expires = ctx.clock() + timedelta(hours=12)
    made = issue(ctx.registry, ctx.clock(), tenant=plan.tenant, role=Role.DRIVER, name=HANDOVER,
                 subject=route.driver, expires_at=expires)  # fmt: skip
    url = f"{ctx.settings.api.public_url.rstrip('/')}/driver#code={made.key}"
    return Handover(url=url, qr_svg=exports.qr_svg(url).decode(), expires_at=expires)


@router.get(
    "/plans/{plan_id}/routes/{index}/qr.svg", tags=["routes"], responses=responses(404),
    response_class=Response, summary="a QR code that opens the route in the driver app",
)  # fmt: skip
def route_qr(plan_id: Number, index: Number, ctx: Ctx, who: RouteReader) -> Response:
    _route(ctx, who, plan_id, index)
    url = f"{ctx.settings.api.public_url.rstrip('/')}/driver#plan={plan_id}&route={index}"
    return Response(exports.qr_svg(url), media_type="image/svg+xml")


# outcomes


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"bin_id": "kalmar-0880-147788-paper", "status": "collected", "at": "2026-11-24T07:12:00+01:00",
         "client_id": "7f3a9c1e-0001"},
        {"bin_id": "kalmar-0880-147789-paper", "status": "skipped", "reason": "blocked",
         "note": "a car in front", "at": "2026-11-24T07:20:00+01:00", "client_id": "7f3a9c1e-0002"},
    ]})  # fmt: skip

    bin_id: Id
    status: OutcomeStatus
    reason: SkipReason | None = Field(None, description="why it was skipped; only for skipped")
    note: str = Field("", max_length=500)
    at: AwareDatetime = Field(description="when it happened, by the phone's clock")
    client_id: ClientId


@router.post(
    "/plans/{plan_id}/outcomes", tags=["routes"], status_code=201, responses=responses(404, 409, 422),
    summary="a driver reports a bin collected or skipped (201; 200 for a report already received)",
)  # fmt: skip
def report(plan_id: Number, body: OutcomeRequest, ctx: Ctx, who: Reporter) -> Response:
    tenant = tenant_of(who)
    plan = ctx.registry.plan(tenant, plan_id)
    routes = [r for r in plan.routes if any(v.kind == "bin" and v.id == body.bin_id for v in r.visits)]
    if who.role is Role.DRIVER:
        routes = [r for r in routes if _drives(who, plan, r, reporting=True)]
    if not routes:
        raise NotFound(f"bin {body.bin_id!r} is not on a route of plan {plan_id} you may report on")
    # a report on a plan re-planned meanwhile still counts: the phone was offline, the work was done
    if plan.status not in (PlanStatus.DISPATCHED, PlanStatus.SUPERSEDED):
        raise Conflict(f"plan {plan_id} is {plan.status.value}: outcomes are reported on dispatched plans")
    outcome = _valid(Outcome, {"tenant": tenant, "plan_id": plan_id, "by": who.subject or who.key_id,
                                **body.model_dump()})  # fmt: skip
    stored, new = ctx.registry.add_outcome(outcome)
    if new and stored.status is OutcomeStatus.COLLECTED:
        for hook in ctx.on_collected:
            hook(tenant, stored.bin_id, stored.at)
    return Response(stored.model_dump_json(), status_code=201 if new else 200, media_type="application/json")


@router.get("/plans/{plan_id}/outcomes", tags=["routes"], responses=responses(404))
def list_outcomes(plan_id: Number, ctx: Ctx, who: RouteReader) -> list[Outcome]:
    tenant = tenant_of(who)
    plan = ctx.registry.plan(tenant, plan_id)
    found = ctx.registry.outcomes(tenant, plan_id=plan_id)
    if who.role is Role.DRIVER:
        mine = {v.id for r in plan.routes if _drives(who, plan, r) for v in r.visits}
        found = [o for o in found if o.bin_id in mine]
    return found


class BreakRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"break_id": "lunch", "start": "2026-11-24T10:41:00+01:00", "client_id": "7f3a9c1e-0003"},
    ]})  # fmt: skip

    break_id: str = Field(min_length=1, max_length=63, description="one of the truck's breaks in the fleet")
    start: AwareDatetime = Field(description="when it began, by the phone's clock")
    client_id: ClientId


@router.post(
    "/plans/{plan_id}/routes/{index}/breaks", tags=["routes"], status_code=201,
    responses=responses(404, 409, 422),
    summary="a driver reports a break begun (201; 200 for a report already received): a re-plan then "
    "leaves it out, and sets the truck off after it when it is still on",
)  # fmt: skip
def report_break(plan_id: Number, index: Number, body: BreakRequest, ctx: Ctx, who: Reporter) -> Response:
    tenant = tenant_of(who)
    plan = ctx.registry.plan(tenant, plan_id)
    route = next((r for r in plan.routes if r.index == index), None)
    if route is None or (who.role is Role.DRIVER and not _drives(who, plan, route, reporting=True)):
        raise NotFound(f"route {index} of plan {plan_id} not found")
    if plan.status not in (PlanStatus.DISPATCHED, PlanStatus.SUPERSEDED):
        raise Conflict(f"plan {plan_id} is {plan.status.value}: breaks are reported on dispatched plans")
    vehicle = next((v for v in fleet_of(ctx.registry, tenant).vehicles if v.id == route.vehicle), None)
    known = sorted({b.id for b in vehicle.breaks} if vehicle else set())
    if body.break_id not in known:
        have = f"its breaks are {', '.join(known)}" if known else "it has none in the fleet"
        raise InvalidInput(f"truck {route.vehicle!r} has no break {body.break_id!r}: {have}")
    taken = BreakTaken(tenant=tenant, plan_id=plan_id, route=index, vehicle=route.vehicle,
                       by=who.subject or who.key_id, **body.model_dump())  # fmt: skip
    stored, new = ctx.registry.add_break(taken)
    return Response(stored.model_dump_json(), status_code=201 if new else 200, media_type="application/json")
