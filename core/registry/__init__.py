"""The registry: tenants, bins, devices and their mounts, bins' latest state, events, dead letters."""

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.errors import SpoolFull, StoreUnavailable
from core.registry.store import Registry

__all__ = ["Registry", "is_outage"]


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says a service is away (retry the same work later), not that the work is bad."""
    outages = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, StoreUnavailable, SpoolFull)
    return isinstance(exc, (*outages, OSError))
