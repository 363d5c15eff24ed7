"""Devices: list, provision (broker credentials shown once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import EDIT_DEVICES, READ, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from api.resources.common import Page, PagingQuery, page
from core import provisioning
from core.models import AwareDatetime, Device, Id, Principal

router = APIRouter(prefix="/v1", tags=["devices"], responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]


class DeviceRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"id": "s-147788-paper", "bin_id": "kalmar-0880-147788-paper", "report_interval_s": 900},
        {"id": "em400-0001", "bin_id": "kalmar-0880-147788-glass", "model": "milesight-em400-udl",
         "dev_eui": "24e124713b123456"},
    ]})  # fmt: skip

    id: Id
    bin_id: Id | None = Field(None, description="the bin it is mounted on")
    since: AwareDatetime | None = Field(None, description="mounted from; default now")
    report_interval_s: int = Field(900, ge=10, le=7 * 86_400)
    model: str = Field("tomning", examples=["tomning", "milesight-em400-udl", "dragino-ldds75"])
    dev_eui: str | None = Field(None, pattern=r"^[0-9a-fA-F]{16}$", description="a LoRaWAN sensor's DevEUI")


class Provisioned(BaseModel):
    """The MQTT password is shown once: the registry keeps only its hash."""

    device: Device
    mqtt_username: str
    mqtt_password: str = Field(description="empty for LoRaWAN sensors, which speak through their network")


@router.get("/devices", summary="the tenant's devices")
def list_devices(
    request: Request, ctx: Ctx, who: Annotated[Principal, Depends(allow(READ))], paging: PagingQuery
) -> Page[Device]:
    return Page[Device].model_validate(page(request, ctx.registry.devices(tenant_of(who)), paging))


@router.get("/devices/{device_id}", responses=responses(404))
def get_device(device_id: Id, ctx: Ctx, who: Annotated[Principal, Depends(allow(READ))]) -> Device:
    return ctx.registry.device(tenant_of(who), device_id)


@router.post(
    "/devices", status_code=201, responses=responses(404, 422),
    summary="provision a device (or re-key it): its broker account and the bin it sits on",
)  # fmt: skip
def provision(
    body: DeviceRequest, ctx: Ctx, who: Annotated[Principal, Depends(allow(EDIT_DEVICES))]
) -> Provisioned:
    made = provisioning.provision(
        ctx.registry, tenant=tenant_of(who), device_id=body.id, bin_id=body.bin_id,
        since=body.since or ctx.clock(), report_interval_s=body.report_interval_s, model=body.model,
        dev_eui=body.dev_eui,
    )  # fmt: skip
    return Provisioned(device=made.device, mqtt_username=made.username, mqtt_password=made.password)


@router.post(
    "/devices/{device_id}/revoke", responses=responses(404),
    summary="disable a device and drop its credentials (run `tomning devices sync` for the broker)",
)  # fmt: skip
def revoke(device_id: Id, ctx: Ctx, who: Annotated[Principal, Depends(allow(EDIT_DEVICES))]) -> Device:
    return provisioning.revoke(ctx.registry, tenant=tenant_of(who), device_id=device_id)
