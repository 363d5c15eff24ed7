"""`tomning keys create` and `tomning api` as an operator runs them, with drivers' collections on MQTT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from core.models import Event, EventKind, Fraction
from core.registry import Registry
from core.settings import MqttSettings
from core.timeseries.sqlite import SqliteStore
from ingest.mqtt import Publisher
from tests.api.conftest import FLEET, readings_for
from tests.api.test_webhooks import Receiver
from tests.harness.services import Mosquitto, free_port
from tests.integration.test_commands import tomning

ONE_TRUCK = FLEET | {"vehicles": FLEET["vehicles"][:1]}  # anna's


def test_an_operator_serves_the_api_and_a_drivers_collection_reaches_the_broker(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    env = {
        "TOMNING_REGISTRY__URL": f"sqlite:///{tmp_path / 'registry.sqlite'}",
        "TOMNING_STORE__SQLITE_PATH": str(tmp_path / "readings.sqlite"),
        "TOMNING_MQTT__HOST": "127.0.0.1", "TOMNING_MQTT__PORT": str(mosquitto.port),
        "TOMNING_API__PORT": str(port), "TOMNING_API__PLAN_TIME_LIMIT_S": "1",
        "TOMNING_WEBHOOKS__ALLOW_PRIVATE": "true",  # the test's receiver is on loopback
    }  # fmt: skip
    tomning("seed", cwd=tmp_path, env=env)
    with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
        paper = [b for b in registry.bins("kalmar") if b.fraction is Fraction.PAPER]
    with SqliteStore(tmp_path / "readings.sqlite") as store:
        store.write_readings(readings_for("kalmar", paper, hours=240))  # up to now: they are due
    dispatcher = tomning(
        "keys", "create", "--tenant", "kalmar", "--role", "dispatcher", cwd=tmp_path, env=env
    ).strip()
    anna = tomning("keys", "create", "--tenant", "kalmar", "--role", "driver", "--driver", "anna",
                   cwd=tmp_path, env=env).strip()  # fmt: skip
    assert dispatcher.startswith("tmn_")
    assert anna != dispatcher
    heard: list[tuple[str, dict[str, str]]] = []
    got = threading.Event()
    listener = Publisher(MqttSettings(host="127.0.0.1", port=mosquitto.port), client_id="test-listener")
    listener.start()
    listener.subscribe(
        "tomning/+/bins/+/collected", lambda t, p: (heard.append((t, json.loads(p))), got.set())
    )
    receiver = Receiver()  # the municipality's alarm desk, on loopback
    server = subprocess.Popen([sys.executable, "-m", "tomning", "api"], cwd=tmp_path, env=os.environ | env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").json() == {"ok": True, "store": True}:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        h = {"Authorization": f"Bearer {dispatcher}"}
        assert httpx.get(f"{base}/v1/bins?limit=1", headers=h).json()["total"] == 120
        assert httpx.put(f"{base}/v1/fleet", json=ONE_TRUCK, headers=h).status_code == 200
        # tomorrow's plan: today's shift (06:00-14:00 in Kalmar) may be over when the test runs
        day = (datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(days=1)).date().isoformat()
        plan = httpx.post(f"{base}/v1/plans", json={"day": day}, headers=h, timeout=60).json()
        for step in ("approve", "dispatch"):
            assert httpx.post(f"{base}/v1/plans/{plan['id']}/{step}", headers=h).status_code == 200
        mine = httpx.get(f"{base}/v1/my/routes?day={day}", headers={"Authorization": f"Bearer {anna}"}).json()
        first = next(v for v in mine[0]["route"]["visits"] if v["kind"] == "bin")
        report = {
            "bin_id": first["id"],
            "status": "collected",
            "at": "2026-11-23T08:00:00Z",
            "client_id": "c-0000001",
        }
        answer = httpx.post(f"{base}/v1/plans/{plan['id']}/outcomes", json=report,
                            headers={"Authorization": f"Bearer {anna}"})  # fmt: skip
        assert answer.status_code == 201, answer.text
        assert got.wait(10)
        assert heard == [
            (f"tomning/kalmar/bins/{first['id']}/collected", {"at": "2026-11-23T08:00:00+00:00"})
        ]
        # an alarm desk's webhook: a fire risk ingest stores is posted by the API process
        integration = tomning("keys", "create", "--tenant", "kalmar", "--role", "integration", cwd=tmp_path,
                              env=env).strip()  # fmt: skip
        made = httpx.post(f"{base}/v1/webhooks", json={"url": receiver.url, "kinds": ["fire_risk"]},
                          headers={"Authorization": f"Bearer {integration}"})  # fmt: skip
        assert made.status_code == 201, made.text
        with Registry.connect(env["TOMNING_REGISTRY__URL"]) as registry:
            registry.add_events([Event(tenant="kalmar", kind=EventKind.FIRE_RISK, ts=datetime.now(UTC),
                                       bin_id=first["id"], value=72.0)])  # fmt: skip
        deadline = time.monotonic() + 15
        while not receiver.posts and time.monotonic() < deadline:
            time.sleep(0.1)
        ((headers, body),) = receiver.posts
        assert headers["x-tomning-event"] == "fire_risk"
        assert json.loads(body)["event"]["bin_id"] == first["id"]
    finally:
        server.terminate()
        server.wait(timeout=20)
        listener.stop()
        receiver.server.shutdown()
        receiver.server.server_close()
