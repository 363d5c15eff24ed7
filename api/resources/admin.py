"""Tenants, keys, users, sign-in: who may use the API, and as what."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from api.auth import ADMIN, HANDOVER, allow, authenticate, platform_admin, tenant_of
from api.context import Services, services
from api.problems import responses
from core import access
from core.errors import NotFound
from core.models import ApiKey, AwareDatetime, Id, NewTenant, Principal, Role, Tenant
from core.registry import Registry

router = APIRouter(prefix="/v1", responses=responses(401, 403))


class KeyRequest(BaseModel):
    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name == HANDOVER:
            raise ValueError(f"{HANDOVER!r} names one-time links; choose another name")
        return name

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"role": "dispatcher", "name": "Dispatch desk"},
        {"role": "driver", "name": "Anna's phone", "subject": "anna"},
    ]})  # fmt: skip

    role: Role
    name: str = Field("", max_length=200, examples=["Dispatch desk"])
    subject: str | None = Field(None, max_length=63, description="for a driver: their username")
    expires_at: AwareDatetime | None = None


class NewKey(BaseModel):
    """A key is shown once, here; the platform keeps only its hash."""

    key: str = Field(examples=["tmn_0123456789abcdef_…"])
    info: ApiKey


class SignIn(BaseModel):
    tenant: Id = Field(examples=["kalmar"])
    username: str = Field(min_length=1, max_length=63, examples=["anna"])
    password: SecretStr = Field(min_length=1, max_length=200, examples=["a long passphrase"])


class Token(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: Role


class UserRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "driver", "password": "a long passphrase"}]}
    )

    role: Role
    password: SecretStr = Field(min_length=10, max_length=200, description="ten characters at least")


def issue(
    registry: Registry,
    now: datetime,
    *,
    tenant: str | None,
    role: Role,
    name: str = "",
    subject: str | None = None,
    expires_at: datetime | None = None,
) -> NewKey:
    """A new key, stored hashed; the whole key is in the answer and nowhere else."""
    key_id, key, secret_hash = access.new_key()
    info = ApiKey(
        id=key_id, tenant=tenant, role=role, name=name, subject=subject, created_at=now, expires_at=expires_at
    )
    registry.add_key(info, secret_hash)
    return NewKey(key=key, info=info)


Ctx = Annotated[Services, Depends(services)]


@router.get("/me", tags=["access"], summary="who the key belongs to")
def me(who: Annotated[Principal, Depends(authenticate)]) -> Principal:
    return who


@router.get("/tenants", tags=["tenants"], summary="every tenant (platform admin)")
def list_tenants(ctx: Ctx, _: Annotated[Principal, Depends(platform_admin)]) -> list[Tenant]:
    return ctx.registry.tenants()


@router.post(
    "/tenants", tags=["tenants"], status_code=201, summary="add a tenant (platform admin)",
    responses=responses(409, 422),
)  # fmt: skip
def create_tenant(tenant: NewTenant, ctx: Ctx, _: Annotated[Principal, Depends(platform_admin)]) -> Tenant:
    ctx.registry.add_tenant(tenant)
    return ctx.registry.tenant(tenant.id)


@router.get("/tenant", tags=["tenants"], summary="the caller's tenant")
def own_tenant(ctx: Ctx, who: Annotated[Principal, Depends(allow(frozenset(Role)))]) -> Tenant:
    return ctx.registry.tenant(tenant_of(who))


@router.post(
    "/tenants/{tenant}/keys", tags=["access"], status_code=201, responses=responses(404, 422),
    summary="a key in a tenant, e.g. its first admin key (platform admin)",
)  # fmt: skip
def create_tenant_key(
    tenant: Id, body: KeyRequest, ctx: Ctx, _: Annotated[Principal, Depends(platform_admin)]
) -> NewKey:
    ctx.registry.tenant(tenant)
    return issue(ctx.registry, ctx.clock(), tenant=tenant, **body.model_dump())


@router.get("/keys", tags=["access"], summary="the tenant's keys (admin)")
def list_keys(ctx: Ctx, who: Annotated[Principal, Depends(allow(ADMIN))]) -> list[ApiKey]:
    return ctx.registry.keys(tenant_of(who))


@router.post("/keys", tags=["access"], status_code=201, summary="a new key (admin)", responses=responses(422))
def create_key(body: KeyRequest, ctx: Ctx, who: Annotated[Principal, Depends(allow(ADMIN))]) -> NewKey:
    return issue(ctx.registry, ctx.clock(), tenant=tenant_of(who), **body.model_dump())


@router.delete(
    "/keys/{key_id}",
    tags=["access"],
    status_code=204,
    summary="revoke a key (admin)",
    responses=responses(404),
)
def revoke_key(key_id: str, ctx: Ctx, who: Annotated[Principal, Depends(allow(ADMIN))]) -> None:
    found = ctx.registry.key(key_id)
    if found is None or found[0].tenant != tenant_of(who):
        raise NotFound(f"key {key_id!r} not found")
    ctx.registry.revoke_key(key_id, ctx.clock())
    ctx.forget_key(key_id)


@router.put(
    "/users/{username}", tags=["access"], status_code=204, responses=responses(422),
    summary="create a user or set their role and password (admin)",
)  # fmt: skip
def put_user(
    username: Id, body: UserRequest, ctx: Ctx, who: Annotated[Principal, Depends(allow(ADMIN))]
) -> None:
    ctx.registry.save_user(
        tenant_of(who), username, body.role, access.hash_password(body.password.get_secret_value())
    )


class Code(BaseModel):
    code: str = Field(
        min_length=8, max_length=200, description="from a handover link", examples=["tmn_0123456789abcdef_…"]
    )


@router.post(
    "/auth/handover", tags=["access"], responses=responses(401, 422),
    summary="trade a one-time handover code (from the dispatcher's link or QR code) for a driver's token",
)  # fmt: skip
def take_handover(body: Code, ctx: Ctx) -> Token:
    parts = access.split_key(body.code)
    found = ctx.registry.key(parts[0]) if parts else None
    now = ctx.clock()
    if (
        parts is None or found is None or found[0].name != HANDOVER or found[0].revoked_at is not None
        or (found[0].expires_at is not None and found[0].expires_at <= now)
        or not access.secret_matches(parts[1], found[1])
    ):  # fmt: skip
        raise HTTPException(401, "the link is not valid, was used already or has expired")
    link = found[0]
    ctx.forget_key(link.id)
    if not ctx.registry.revoke_key(link.id, now):  # one time only, even for two phones at once
        raise HTTPException(401, "the link is not valid, was used already or has expired")
    expires = now + timedelta(seconds=ctx.settings.api.token_ttl_s)
    new = issue(
        ctx.registry, now, tenant=link.tenant, role=Role.DRIVER, name=f"phone of {link.subject}",
        subject=link.subject, expires_at=expires,
    )  # fmt: skip
    return Token(token=new.key, expires_at=expires, role=Role.DRIVER)


@router.post(
    "/auth/token", tags=["access"], responses=responses(401, 422, 429),
    summary="sign in with a username and password: a token that expires",
)  # fmt: skip
def sign_in(body: SignIn, ctx: Ctx) -> Token:
    pause = ctx.sign_in_pause(body.tenant, body.username)
    if pause > 0:
        wait = math.ceil(pause)
        raise HTTPException(
            429, f"too many wrong passwords for {body.username!r}: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    found = ctx.registry.user(body.tenant, body.username)
    # an unknown user costs a hash check too: the answer's time must not tell which names exist
    stored = found[1] if found is not None else access.unknown_user_hash()
    ok = access.password_matches(body.password.get_secret_value(), stored) and found is not None
    ctx.signed_in(body.tenant, body.username, ok=ok)
    if not ok or found is None:
        raise HTTPException(401, "unknown user or wrong password", headers={"WWW-Authenticate": "Bearer"})
    role = found[0]
    expires = ctx.clock() + timedelta(seconds=ctx.settings.api.token_ttl_s)
    new = issue(
        ctx.registry,
        ctx.clock(),
        tenant=body.tenant,
        role=role,
        name=f"sign-in {body.username}",
        subject=body.username,
        expires_at=expires,
    )
    return Token(token=new.key, expires_at=expires, role=role)
