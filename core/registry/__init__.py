"""The registry: tenants, bins, devices and their mounts, bins' latest state, events, dead letters."""

from core.registry.store import Registry

__all__ = ["Registry"]
