"""MQTT topic names of the message contract (version 1) and their parsing."""

from __future__ import annotations

import hashlib
import re
from typing import Literal, NamedTuple

CONTRACT_VERSION = 1
ROOT = "tomning"
Kind = Literal["up", "config", "status"]
_ID = r"[a-z0-9][a-z0-9_.\-]{0,62}"
_DEVICE_TOPIC = re.compile(
    rf"^{ROOT}/(?P<tenant>{_ID})/devices/(?P<device>{_ID})/(?P<kind>up|config|status)$"
)
ID_PATTERN = rf"^{_ID}$"


class ParsedTopic(NamedTuple):
    tenant: str
    device_id: str
    kind: Kind


def uplink(tenant: str, device_id: str) -> str:
    return f"{ROOT}/{tenant}/devices/{device_id}/up"


def config(tenant: str, device_id: str) -> str:
    return f"{ROOT}/{tenant}/devices/{device_id}/config"


def status(tenant: str, device_id: str) -> str:
    return f"{ROOT}/{tenant}/devices/{device_id}/status"


def collected(tenant: str, bin_id: str) -> str:
    """Published when a driver marks a bin's stop collected; simulated fleets empty the bin."""
    return f"{ROOT}/{tenant}/bins/{bin_id}/collected"


COLLECTED_FILTER = f"{ROOT}/+/bins/+/collected"


def dead_letter(tenant: str) -> str:
    return f"{ROOT}/{tenant}/deadletter"


def uplink_filter(shared_group: str | None) -> str:
    """All tenants' uplinks; with a group, as an MQTT v5 shared subscription."""
    return shared(f"{ROOT}/+/devices/+/up", shared_group)


def private_group(group: str, secret: str | None) -> str:
    """The shared-subscription group that only holders of `secret` (the platform's broker password) can name.

    Mosquitto grants any client any `$share/…` subscription and drops, at delivery, what its ACL denies:
    a device that joined ingest's group took its round-robin share of every tenant's uplinks, which
    were then lost. No device knows the platform's password, so none can name this group."""
    if not secret:
        return group
    return f"{group}-{hashlib.sha256(f'tomning-share:{secret}'.encode()).hexdigest()[:20]}"


def shared(topic_filter: str, group: str | None) -> str:
    return f"$share/{group}/{topic_filter}" if group else topic_filter


def parse(topic: str) -> ParsedTopic | None:
    match = _DEVICE_TOPIC.match(topic)
    if match is None:
        return None
    kind: Kind = match["kind"]  # type: ignore[assignment]
    return ParsedTopic(match["tenant"], match["device"], kind)
