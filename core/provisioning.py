"""Provisioning and revoking devices: registry entry, MQTT credentials, the broker's access rules."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from core import brokeraccess
from core.decoders import MODELS
from core.errors import Conflict, DeviceNotFound, InvalidInput
from core.models import Device
from core.registry import Registry
from core.settings import BrokerAccessSettings


class Provisioned(NamedTuple):
    device: Device
    username: str
    password: str  # shown once; the registry keeps only its hash


def provision(
    registry: Registry,
    *,
    tenant: str,
    device_id: str,
    bin_id: str | None,
    since: datetime,
    report_interval_s: int = 900,
    model: str = "tomning",
    dev_eui: str | None = None,
) -> Provisioned:
    """Create (or re-key) a device, mounted on `bin_id` from `since`.

    Our own firmware ("tomning") gets a fresh broker password; a LoRaWAN sensor speaks through its
    network server, so it gets none and is known by its DevEUI.
    """
    registry.tenant(tenant)
    if model not in MODELS:
        raise InvalidInput(f"model {model!r} is not one of {', '.join(MODELS)}")
    if (model == "tomning") == (dev_eui is not None):
        raise InvalidInput("a LoRaWAN sensor needs its DevEUI, and only a LoRaWAN sensor has one")
    if dev_eui is not None:
        holder = next((d for d in registry.devices(tenant) if d.dev_eui == dev_eui.lower()), None)
        if holder is not None and holder.id != device_id:
            raise Conflict(f"DevEUI {dev_eui.lower()} belongs to device {holder.id!r} already")
    password = brokeraccess.new_password() if model == "tomning" else ""
    device = Device(
        tenant=tenant, id=device_id, report_interval_s=report_interval_s, model=model,
        dev_eui=dev_eui.lower() if dev_eui else None,
    )  # fmt: skip
    registry.save_device(device, secret_hash=brokeraccess.hash_password(password) if password else None)
    if bin_id is not None:
        registry.mount(tenant, device_id, bin_id, since=since)
    username = brokeraccess.device_username(tenant, device_id)
    return Provisioned(registry.device(tenant, device_id), username, password)


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
