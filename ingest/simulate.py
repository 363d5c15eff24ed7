"""Simulated devices: realistic uplinks (and a share of bad ones) published through the broker."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import topics
from core.fillmodel import SimulatedBin
from core.models import Bin, Device
from core.settings import MqttSettings
from ingest.mqtt import Publisher

BAD_KINDS: dict[str, Callable[[dict[str, object]], bytes]] = {
    "malformed_json": lambda r: json.dumps(r).encode()[:-3],
    "out_of_range": lambda r: json.dumps(r | {"distance_mm": 123_456}).encode(),
    "wrong_type": lambda r: json.dumps(r | {"seq": str(r["seq"])}).encode(),
    "timestamp_future": lambda r: json.dumps(r | {"ts": "2099-01-01T00:00:00Z"}).encode(),
}


@dataclass
class Tally:
    published: int = 0
    bad: int = 0
    emptied: int = 0


class Simulator:
    """Each tick, every device publishes one reading stamped now; fill moves `speedup` times faster."""

    def __init__(
        self, pairs: Sequence[tuple[Bin, Device]], *, mqtt: MqttSettings, seed: int = 1,
        speedup: float = 900.0, bad_share: float = 0.02, client_id: str = "tomning-simulator",
    ) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.devices = [
            (device, SimulatedBin(bin_, random.Random(self.rng.random()), level=self.rng.uniform(0, 0.7)))
            for bin_, device in pairs
        ]
        self.speedup, self.bad_share = speedup, bad_share
        self.publisher = Publisher(mqtt, client_id=client_id)
        self.tally = Tally()

    def tick(self, period: timedelta, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        for device, sim in self.devices:
            self.tally.emptied += sim.advance(now, period * self.speedup)
            body = sim.reading(now)
            if self.rng.random() < self.bad_share:
                payload = self.rng.choice(list(BAD_KINDS.values()))(body)
                self.tally.bad += 1
            else:
                payload = json.dumps(body).encode()
            self.publisher.publish(topics.uplink(device.tenant, device.id), payload)
            self.tally.published += 1

    def run(
        self, *, period_s: float, ticks: int | None, stop: threading.Event, on_tick: Callable[[Tally], None]
    ) -> None:
        self.publisher.start()
        try:
            done = 0
            while not stop.is_set() and (ticks is None or done < ticks):
                self.tick(timedelta(seconds=period_s))
                done += 1
                on_tick(self.tally)
                stop.wait(period_s)
            self.publisher.flush()
        finally:
            self.publisher.stop()
