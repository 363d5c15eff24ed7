"""The frozen inbound message type handed from the MQTT thread to the ingest worker."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Inbound(NamedTuple):
    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    epoch: int = 0  # the connection it came on: only that connection may acknowledge it
