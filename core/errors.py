"""The one error tree of Tömning.

TomningError
 ├── NotFound            an object named by id does not exist (or is another tenant's)
 │    ├── TenantNotFound
 │    ├── BinNotFound
 │    └── DeviceNotFound
 ├── Conflict            the object exists already, or the change contradicts its state
 ├── InvalidInput        a request or value breaks a rule; the message names the rule
 │    └── PayloadRejected  an MQTT payload (or one reading in it) was refused; has .reason
 ├── StoreUnavailable    a storage backend did not answer; the caller retries or spools
 └── SpoolFull           the on-disk spool reached its bound; ingest stops acknowledging
"""

from __future__ import annotations


class TomningError(Exception):
    """Root of every error Tömning raises on purpose."""


class NotFound(TomningError):
    """An object named by id does not exist."""


class TenantNotFound(NotFound):
    def __init__(self, tenant: str) -> None:
        super().__init__(f"tenant {tenant!r} not found")
        self.tenant = tenant


class BinNotFound(NotFound):
    def __init__(self, tenant: str, bin_id: str) -> None:
        super().__init__(f"bin {bin_id!r} not found in tenant {tenant!r}")
        self.tenant, self.bin_id = tenant, bin_id


class DeviceNotFound(NotFound):
    def __init__(self, tenant: str, device_id: str) -> None:
        super().__init__(f"device {device_id!r} not found in tenant {tenant!r}")
        self.tenant, self.device_id = tenant, device_id


class Conflict(TomningError):
    """The object exists already, or the change contradicts its state."""


class InvalidInput(TomningError):
    """A value breaks a rule; the message names the value and the rule."""


class PayloadRejected(InvalidInput):
    """A payload or one reading in it was refused; `reason` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class StoreUnavailable(TomningError):
    """A storage backend did not answer or refused the write."""


class SpoolFull(TomningError):
    """The on-disk spool reached its configured bound."""
