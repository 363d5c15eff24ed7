"""Provisioning and revoking devices: registry entry, MQTT credentials, the broker's access rules."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from core import brokeraccess
from core.errors import DeviceNotFound
from core.models import Device
from core.registry import Registry
from core.settings import BrokerAccessSettings


class Provisioned(NamedTuple):
    device: Device
    username: str
    password: str  # shown once; the registry keeps only its hash


def provision(
    registry: Registry, *, tenant: str, device_id: str, bin_id: str | None, since: datetime,
    report_interval_s: int = 900,
) -> Provisioned:  # fmt: skip
    """Create (or re-key) a device with a fresh password, mounted on `bin_id` from `since`."""
    registry.tenant(tenant)
    password = brokeraccess.new_password()
    device = Device(tenant=tenant, id=device_id, report_interval_s=report_interval_s)
    registry.save_device(device, secret_hash=brokeraccess.hash_password(password))
    if bin_id is not None:
        registry.mount(tenant, device_id, bin_id, since=since)
    return Provisioned(
        registry.device(tenant, device_id), brokeraccess.device_username(tenant, device_id), password
    )


def revoke(registry: Registry, *, tenant: str, device_id: str) -> Device:
    """Disable a device and drop its credentials: its next connection is refused."""
    device = registry.device(tenant, device_id)
    registry.save_device(device.model_copy(update={"enabled": False}), secret_hash=None)
    return registry.device(tenant, device_id)


def sync_broker(
    registry: Registry, settings: BrokerAccessSettings, *, platform_username: str, platform_password: str
) -> int:
    """Rewrite the broker's files from the registry and reload it; the number of device accounts."""
    accounts = [
        brokeraccess.platform_account(platform_username, brokeraccess.hash_password(platform_password)),
        *(brokeraccess.device_account(t, d, h) for t, d, h in registry.credentials()),
    ]
    brokeraccess.write(accounts, password_path=settings.password_file, acl_path=settings.acl_file)
    if settings.pid_file is not None:
        brokeraccess.reload(settings.pid_file)
    return len(accounts) - 1


__all__ = ["DeviceNotFound", "Provisioned", "provision", "revoke", "sync_broker"]
