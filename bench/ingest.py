"""Ingest throughput and publish→queryable latency on real Mosquitto and InfluxDB, with ceilings.

In one run: (1) the ceilings: a bare paho subscriber draining a backlog of N QoS 1 readings
queued by Mosquitto for its persistent session, and a bare loop of batched /write calls;
(2) `tomning ingest` (a child process) draining the same backlog into InfluxDB, until a query
counts all N; (3) latency probes at a steady rate, each polled until InfluxDB answers it.
One Python publisher sends about 2,500 QoS 1 messages/s here, less than either consumer takes,
so the backlog is published first and the consumers are timed draining it.
ratio = readings_per_s / min(ceilings). With `--hostile`, the same load again with 1 % poison
messages among it (nested 1,000 deep, a 5,000-digit number, a NUL byte, UTF-16, an oversized
payload, a ChirpStack envelope with rssi 1e999): `hostile_ratio` is its rate of good readings
stored against the clean run's, in the same run; `lost` counts good readings never stored.

    python -m bench.ingest [--quick] [--readings N] [--hostile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rich.console import Console

from core import places, topics
from core.models import Tenant
from core.registry import Registry
from core.registry.migrate import upgrade
from core.settings import MqttSettings, StoreSettings
from core.timeseries.influx import InfluxStore, quote
from ingest.mqtt import Publisher
from tests.harness.ingest_process import IngestProcess
from tests.harness.services import InfluxDB, Mosquitto

TENANT = "bench"
STATIONS = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "places"
    / "sweden_recycling_stations_2026-08-20.csv"
)
console = Console(stderr=True)


def fleet(registry: Registry, devices: int) -> list[str]:
    source = STATIONS if STATIONS.is_file() else places.KALMAR
    stations = places.stations(source)
    pairs = places.fleet(TENANT, stations)[:devices]
    places.seed(
        registry, Tenant(id=TENANT, name="Benchmark"), pairs, since=datetime.now(UTC) - timedelta(days=30)
    )
    return [d.id for _, d in pairs]


def messages(devices: list[str], count: int, *, start: datetime) -> list[tuple[str, bytes]]:
    """`count` distinct readings spread over the devices, one per message.

    Each device's bin fills as bins do, 8 mm a reading, and is emptied every 180 readings: events
    (full, emptied) are about as rare as in the field, a few in a hundred readings.
    """
    out = []
    for n in range(count):
        device, k = devices[n % len(devices)], n // len(devices)
        ts = start + timedelta(seconds=k)
        body = {
            "ts": ts.isoformat(),
            "seq": n,
            "distance_mm": 1800 - ((k + n) % 180) * 8,
            "temperature": 5.5,
            "battery_v": 3.7,
        }
        out.append((topics.uplink(TENANT, device), json.dumps(body).encode()))
    return out


POISON = (
    b"[" * 1000 + b"]" * 1000,
    b'{"ts": 1, "seq": ' + b"9" * 5000 + b"}",
    b"\x00",
    '{"ts": 1, "seq": 1}'.encode("utf-16"),
    b'{"pad": "' + b"x" * 70_000 + b'"}',
)
CHIRPSTACK = (
    "application/bench/device/a84041000181c0de/event/up",
    b'{"deviceInfo": {"devEui": "a84041000181c0de"}, "fPort": 2, "fCnt": 1, "data": "AAAA", '
    b'"time": "2026-12-03T10:00:00+00:00", "rxInfo": [{"rssi": 1e999}]}',
)


def poisoned(batch: list[tuple[str, bytes]], share: float) -> list[tuple[str, bytes]]:
    """`batch` with a poison message after every 1/`share` good ones, on the same devices' topics."""
    every, out = round(1 / share), []
    for n, (topic, body) in enumerate(batch):
        out.append((topic, body))
        if n % every == every - 1:
            kind = (n // every) % (len(POISON) + 1)
            out.append(CHIRPSTACK if kind == len(POISON) else (topic, POISON[kind]))
    return out


def publish_all(mqtt: MqttSettings, batch: list[tuple[str, bytes]], name: str) -> float:
    with Publisher(mqtt, client_id=name) as publisher:
        started = time.perf_counter()
        for topic, body in batch:
            publisher.publish(topic, body)
        publisher.flush()
        return time.perf_counter() - started


def subscriber_ceiling(mqtt: MqttSettings, batch: list[tuple[str, bytes]]) -> float:
    """A bare paho subscriber (QoS 1, auto-ack, persistent session) draining the same backlog."""
    got, done = [0], threading.Event()

    def on_message(*_: object) -> None:
        got[0] += 1
        if got[0] == len(batch):
            done.set()

    def connect() -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=MQTTProtocolVersion.MQTTv5
        )
        client.on_message = on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", mqtt.port, clean_start=False, properties=props)
        return client

    client = connect()
    client.subscribe(topics.uplink_filter("bench-bare"), qos=1)
    client.loop(1)
    client.disconnect()
    publish_all(mqtt, batch, "bench-bare-pub")  # queued by the broker for the offline session
    started = time.perf_counter()
    client = connect()
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return got[0] / elapsed


def write_ceiling(influx_url: str, database: str, count: int, batch_size: int) -> float:
    """A bare loop of batched line-protocol /write calls: the store's own ceiling."""
    start_ms = int(datetime.now(UTC).timestamp() * 1000) - count
    lines = [
        f"readings,tenant=ceiling,bin=b{n % 1000},device=d{n % 1000},fraction=paper "
        f"seq={n}i,distance_mm={300 + n % 1400}i,filling_level=0.5,temperature_c=5.5,battery_v=3.7 "
        f"{start_ms + n}"
        for n in range(count)
    ]
    with httpx.Client(base_url=influx_url, timeout=60) as http:
        http.post("/query", params={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
        started = time.perf_counter()
        for i in range(0, count, batch_size):
            body = "\n".join(lines[i : i + batch_size]).encode()
            response = http.post("/write", params={"db": database, "precision": "ms"}, content=body)
            response.raise_for_status()
        return count / (time.perf_counter() - started)


def latency_probes(
    mqtt: MqttSettings, store: InfluxStore, device: str, count: int, rate_per_s: float
) -> list[float]:
    """Publish probes at a steady rate; time each from publish until a query returns it."""
    latencies = []
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with Publisher(mqtt, client_id="bench-probe") as publisher:
        for n in range(count):
            ts = base - timedelta(seconds=n)
            body = json.dumps({"ts": ts.isoformat(), "seq": 10**6 + n, "distance_mm": 900}).encode()
            query = (
                f"SELECT seq FROM readings WHERE device = {quote(device)} AND time = {int(ts.timestamp())}s"
            )
            sent = time.perf_counter()
            publisher.publish(topics.uplink(TENANT, device), body)
            while not store.query(query):
                time.sleep(0.002)
            latencies.append((time.perf_counter() - sent) * 1000)
            time.sleep(max(0.0, 1 / rate_per_s - (time.perf_counter() - sent)))
    return latencies


def drain(
    work: Path,
    mqtt: MqttSettings,
    influx: InfluxDB,
    registry_url: str,
    batch: list[tuple[str, bytes]],
    *,
    workers: int,
    probes: int,
    good: int | None = None,
    name: str = "",
) -> tuple[float, list[float], int, int]:
    """`workers` ingest processes draining the backlog, then probes: (rate, latencies, lost, events).
    `good`: how many of the backlog's messages are readings (the rest poison)."""
    good = len(batch) if good is None else good
    database = f"bench_w{workers}{name}"
    settings = StoreSettings(backend="influxdb", influx_url=influx.url, influx_database=database)
    store = InfluxStore.from_settings(settings)
    (work / database).mkdir()
    ingest = IngestProcess(work / database, broker_port=mqtt.port, registry_url=registry_url,
                           influx_url=influx.url, database=database, workers=workers,
                           extra_env={"TOMNING_INGEST__SHARED_GROUP": database})  # fmt: skip
    try:
        console.print(f"[bold]throughput[/]: a backlog of {len(batch)} readings, {workers} ingest worker(s)")
        ingest.start()  # their persistent sessions and the shared subscription
        ingest.stop()
        publish_all(mqtt, batch, f"bench-pub-{workers}")
        ingest.start()
        started = time.perf_counter()  # connected, the backlog flowing
        stored = 0
        while stored < good and time.perf_counter() - started < 600:
            time.sleep(0.1)
            stored = store.count_readings(TENANT)
        rate = stored / (time.perf_counter() - started)
        console.print(f"  {stored} stored: {rate:,.0f}/s")
        latencies: list[float] = []
        if probes:
            console.print(f"[bold]latency[/]: {probes} probes, publish → queryable")
            device = batch[0][0].split("/")[3]
            latencies = latency_probes(mqtt, store, device, probes, rate_per_s=20)
        time.sleep(1)
        lost = good + probes - store.count_readings(TENANT)
        events = len(store.query('SELECT "value" FROM "events" WHERE tenant = \'bench\''))
    finally:
        if ingest.process is not None:
            ingest.stop()
        store.close()
    return rate, latencies, lost, events


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer readings: under 3 minutes")
    parser.add_argument("--readings", type=int, help="readings in each throughput phase")
    parser.add_argument("--devices", type=int, default=1000, help="simulated devices (real Swedish stations)")
    parser.add_argument("--workers", type=int, default=2, help="ingest worker processes (1 is measured too)")
    parser.add_argument(
        "--hostile", action="store_true", help="again with 1 %% poison messages among the load"
    )
    args = parser.parse_args()
    count = args.readings or (20_000 if args.quick else 100_000)
    probes = 100 if args.quick else 300
    work = Path(tempfile.mkdtemp(prefix="tomning-bench-"))
    broker, influx = Mosquitto(work / "mosquitto"), InfluxDB(work / "influxdb")
    broker.start()
    influx.start()
    mqtt = MqttSettings(host="127.0.0.1", port=broker.port)
    registry_url = f"sqlite:///{work / 'registry.sqlite'}"
    with Registry.connect(registry_url) as registry:
        upgrade(registry.engine)
        devices = fleet(registry, args.devices)
    batch = messages(devices, count, start=datetime.now(UTC) - timedelta(days=2))
    runs: dict[int, tuple[float, list[float], int, int]] = {}
    try:
        console.print(f"[bold]ceilings[/]: bare paho subscriber and bare /write, {count} readings each")
        bare_sub = subscriber_ceiling(mqtt, batch)
        bare_write = write_ceiling(influx.url, "ceiling", count, batch_size=500)
        console.print(f"  subscriber {bare_sub:,.0f}/s, /write {bare_write:,.0f}/s")
        for workers in sorted({1, args.workers}):
            runs[workers] = drain(work, mqtt, influx, registry_url, batch, workers=workers,
                                  probes=probes if workers == args.workers else 0)  # fmt: skip
        if args.hostile:
            console.print("[bold]hostile[/]: the same load with 1 % poison messages")
            hostile = drain(work, mqtt, influx, registry_url, poisoned(batch, 0.01), workers=args.workers,
                            probes=0, good=count, name="_hostile")  # fmt: skip
    finally:
        broker.stop()
        influx.stop()
    ceiling = min(bare_sub, bare_write)
    rate, latencies, _, events = runs[args.workers]
    result = {
        "readings_per_s": round(rate, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "ceiling_per_s": round(ceiling, 1),
        "ratio": round(rate / ceiling, 3),
        "lost": sum(run[2] for run in runs.values()),
        "events_per_reading": round(events / count, 4),
        "workers": args.workers,
        "readings_per_s_1_worker": round(runs[1][0], 1),
        "ratio_1_worker": round(runs[1][0] / ceiling, 3),
        "subscriber_ceiling_per_s": round(bare_sub, 1),
        "write_ceiling_per_s": round(bare_write, 1),
        "readings": count,
        "devices": len(devices),
        "cores": os.cpu_count(),
        "quick": args.quick,
    }
    if args.hostile:
        result |= {
            "hostile_readings_per_s": round(hostile[0], 1),
            "hostile_ratio": round(hostile[0] / rate, 3),
            "hostile_lost": hostile[2],
            "poison_share": 0.01,
        }
        result["lost"] += hostile[2]
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
