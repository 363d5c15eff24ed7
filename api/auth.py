"""Who is calling: bearer keys (`tmn_<id>_<secret>`), roles, and the tenant every request is scoped to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.context import Services, services
from core import access
from core.models import Principal, Role

bearer = HTTPBearer(auto_error=False, description="an API key or a token from /v1/auth/token")

ADM, DSP, DRV, VIEW, INT = Role.ADMIN, Role.DISPATCHER, Role.DRIVER, Role.VIEWER, Role.INTEGRATION
READ = frozenset({ADM, DSP, VIEW, INT})  # the tenant's data
EDIT_BINS = frozenset({ADM, DSP, INT})
EDIT_DEVICES = frozenset({ADM, INT})
HOOKS = frozenset({ADM, INT})  # webhooks: the other systems of the municipality register theirs
DISPATCH = frozenset({ADM, DSP})  # plans, fleet, alerts
REPORT = frozenset({ADM, DSP, DRV, INT})  # stop outcomes; a driver only on their own routes
ROUTES = frozenset({ADM, DSP, DRV, VIEW, INT})  # a plan's routes; a driver sees only their own
ADMIN = frozenset({ADM})

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
HANDOVER = "handover"  # the name of one-time keys in handover links (api/resources/plans.py)


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ctx: Annotated[Services, Depends(services)],
) -> Principal:
    # async: a key found in the short-lived cache costs no thread hop and no query
    if credentials is None:
        raise HTTPException(401, "an Authorization: Bearer key is required", headers=_UNAUTHORIZED)
    parts = access.split_key(credentials.credentials)
    found = ctx.known_key(parts[0]) if parts else None
    if parts is None or found is None or not access.secret_matches(parts[1], found[1]):
        raise HTTPException(401, "the key is not valid", headers=_UNAUTHORIZED)
    key = found[0]
    if key.name == HANDOVER:
        raise HTTPException(
            401, "a handover code is traded at /v1/auth/handover, not used", headers=_UNAUTHORIZED
        )
    now = ctx.clock()
    if key.revoked_at is not None and key.revoked_at <= now:
        raise HTTPException(401, "the key was revoked", headers=_UNAUTHORIZED)
    if key.expires_at is not None and key.expires_at <= now:
        raise HTTPException(401, "the key has expired", headers=_UNAUTHORIZED)
    return Principal(key_id=key.id, tenant=key.tenant, role=key.role, subject=key.subject)


def allow(roles: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if their role is among `roles` and their key names a tenant."""

    async def check(who: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if who.tenant is None:
            raise HTTPException(403, "a platform key has no tenant: use one of the tenant's keys")
        if who.role not in roles:
            raise HTTPException(403, f"the role {who.role.value!r} may not do this")
        return who

    return check


async def platform_admin(who: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if who.tenant is not None or who.role is not Role.ADMIN:
        raise HTTPException(403, "only the platform's admin key may do this")
    return who


def tenant_of(who: Principal) -> str:
    assert who.tenant is not None  # allow() refused platform keys
    return who.tenant
