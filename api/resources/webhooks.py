"""Webhooks: a tenant's events posted to the other systems of the municipality as they happen."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth import HOOKS, allow, tenant_of
from api.context import Services, services
from api.problems import responses
from api.resources.common import Number
from api.webhooks import Secrets, check_target
from core.models import Delivery, EventKind, Principal, Webhook

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["webhooks"], responses=responses(401, 403))
Ctx = Annotated[Services, Depends(services)]
Integrator = Annotated[Principal, Depends(allow(HOOKS))]


class WebhookRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"url": "https://larm.kalmar.se/tomning", "kinds": ["fire_risk", "full"]},
    ]})  # fmt: skip

    url: str = Field(
        min_length=8, max_length=2000, pattern=r"^https?://", description="where events are posted"
    )
    kinds: list[EventKind] = Field(min_length=1, max_length=len(EventKind), description="the kinds posted")


class NewWebhook(BaseModel):
    webhook: Webhook
    secret: str = Field(description="signs each post (X-Tomning-Signature); shown this once")


@router.post(
    "/webhooks", status_code=201, responses=responses(422),
    summary="post the tenant's events of these kinds to a URL, signed (admin, integration)",
)  # fmt: skip
def add_webhook(body: WebhookRequest, ctx: Ctx, who: Integrator) -> NewWebhook:
    check_target(body.url, allow_private=ctx.settings.webhooks.allow_private)
    kinds = dict.fromkeys(body.kinds)  # each once, in the order asked
    secrets = Secrets(ctx.settings.webhooks.secret_keys)
    if not secrets.sealing:
        log.warning("webhook secrets are kept in clear in the registry: set TOMNING_WEBHOOKS__SECRET_KEYS "
                    "(`tomning webhooks key` makes one), then run `tomning webhooks reseal`")  # fmt: skip
    hook, secret = ctx.registry.add_webhook(
        tenant_of(who), body.url, kinds, at=ctx.clock(), by=who.key_id, seal=secrets.seal
    )
    return NewWebhook(webhook=hook, secret=secret)


@router.get("/webhooks", summary="the tenant's webhooks")
def list_webhooks(ctx: Ctx, who: Integrator) -> list[Webhook]:
    return ctx.registry.webhooks(tenant_of(who))


@router.delete("/webhooks/{hook_id}", status_code=204, responses=responses(404),
               summary="stop posting to a webhook (what it had still to post is dropped)")  # fmt: skip
def delete_webhook(hook_id: Number, ctx: Ctx, who: Integrator) -> None:
    ctx.registry.delete_webhook(tenant_of(who), hook_id)


@router.get(
    "/webhooks/{hook_id}/deliveries", responses=responses(404),
    summary="a webhook's latest posts, newest first: pending, delivered or failed, with the last error",
)  # fmt: skip
def list_deliveries(hook_id: Number, ctx: Ctx, who: Integrator) -> list[Delivery]:
    return ctx.registry.deliveries(tenant_of(who), hook_id)
