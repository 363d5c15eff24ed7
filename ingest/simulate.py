"""Simulated devices: a fleet's readings (and a share of bad payloads) published through the broker.

Two clocks: `backfill` replays the past days on a simulated clock as fast as the broker takes
them (a month in minutes; timestamps stay within the contract's 30 days); `live` publishes every
period stamped now, with fill moving `speedup` times faster than real time. A bin is emptied when
its `collected` message arrives (a driver marked the stop), or by the fixed weekly round.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import topics
from core.fillmodel import Fleet
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
    silent: int = 0
    collected: int = 0
    simulated_to: datetime | None = None


class Simulator:
    def __init__(
        self,
        pairs: Sequence[tuple[Bin, Device]],
        *,
        mqtt: MqttSettings,
        seed: int = 1,
        speedup: float = 900.0,
        bad_share: float = 0.02,
        fault_share: float = 0.0,
        fixed_round: bool = False,
        client_id: str = "tomning-simulator",
        start: datetime | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.devices = {bin_.id: device for bin_, device in pairs}
        self.fleet = Fleet(
            [b for b, _ in pairs],
            seed=seed,
            fault_share=fault_share,
            fixed_round=fixed_round,
            start=start or datetime.now(UTC),
        )
        self.speedup, self.bad_share = speedup, bad_share
        self.publisher = Publisher(mqtt, client_id=client_id)
        self.tally = Tally()

    def _publish(self, readings: dict[str, dict[str, object] | None]) -> None:
        for bin_id, body in readings.items():
            if body is None:
                self.tally.silent += 1
                continue
            device = self.devices[bin_id]
            if self.rng.random() < self.bad_share:
                payload = self.rng.choice(list(BAD_KINDS.values()))(body)
                self.tally.bad += 1
            else:
                payload = json.dumps(body).encode()
            self.publisher.publish(topics.uplink(device.tenant, device.id), payload)
            self.tally.published += 1
        self.tally.simulated_to = self.fleet.clock

    def _collected(self, topic: str, _payload: bytes) -> None:
        bin_id = topic.split("/")[3]
        if self.fleet.collect(bin_id, self.fleet.clock):
            self.tally.collected += 1

    def backfill(self, *, until: datetime, every: timedelta, on_tick: Callable[[Tally], None]) -> None:
        """Readings every `every` of simulated time from the fleet's clock until `until`."""
        while self.fleet.clock + every <= until:
            self._publish(self.fleet.step(self.fleet.clock + every))
            on_tick(self.tally)
        self.publisher.flush()

    def tick(self, period: timedelta, now: datetime | None = None) -> None:
        """Live: the fleet's clock moves `speedup` times the period; readings are stamped now."""
        stamp = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
        readings = self.fleet.step(self.fleet.clock + period * self.speedup)
        self._publish({b: (r and r | {"ts": stamp}) for b, r in readings.items()})

    def run(
        self,
        *,
        period_s: float,
        ticks: int | None,
        stop: threading.Event,
        on_tick: Callable[[Tally], None],
        backfill_days: float = 0.0,
        report_interval_s: int = 900,
    ) -> None:
        self.publisher.start()
        self.publisher.subscribe(topics.COLLECTED_FILTER, self._collected)
        try:
            if backfill_days:
                now = datetime.now(UTC)
                self.fleet.clock = now - timedelta(days=backfill_days)
                self.backfill(until=now, every=timedelta(seconds=report_interval_s), on_tick=on_tick)
            done = 0
            while not stop.is_set() and (ticks is None or done < ticks):
                self.tick(timedelta(seconds=period_s))
                done += 1
                on_tick(self.tally)
                stop.wait(period_s)
            self.publisher.flush()
        finally:
            self.publisher.stop()
