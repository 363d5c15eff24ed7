"""The `tomning` command as a user runs it: help, the demo, the simulator through a real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.registry import Registry
from core.registry.migrate import upgrade
from core.timeseries.sqlite import SqliteStore
from tests.harness.services import Mosquitto
from tests.integration.pipeline_helpers import TENANT, eventually, running_ingest, seed_kalmar


def tomning(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tomning", *args], cwd=cwd, env=os.environ | (env or {}),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_fresh_clone_upgrades_its_registry_and_says_its_version(tmp_path: Path) -> None:
    """No var/ yet: the default registry's folder is made (it was a 100-line traceback)."""
    assert tomning("db", "upgrade", cwd=tmp_path).strip() == "registry is at the newest schema"
    assert (tmp_path / "var" / "registry.sqlite").is_file()
    assert tomning("--version", cwd=tmp_path).startswith("tomning ")


def test_help_names_every_job(tmp_path: Path) -> None:
    shown = tomning("--help", cwd=tmp_path)
    for job in ("demo", "ingest", "simulate", "seed", "db", "broker", "config", "api", "keys", "route"):
        assert job in shown
    assert "--period-s" in tomning("simulate", "--help", cwd=tmp_path)


def test_the_demo_runs_the_whole_pipeline_on_the_embedded_broker(tmp_path: Path) -> None:
    shown = tomning("demo", "--duration-s", "6", "--period-s", "1", cwd=tmp_path, env={"COLUMNS": "120"})
    assert "120 containers at Kalmar's 30 recycling stations" in shown
    assert "Fullest bins" in shown
    assert "/docs  dispatcher key: tmn_" in shown  # the API runs beside the pipeline
    stored = int(shown.rsplit("stored readings:", 1)[1].split()[0])
    assert stored >= 400  # 120 devices × ≥ 5 rounds, less the deliberately bad 2 %
    with SqliteStore(tmp_path / "var" / "readings.sqlite") as store:
        assert store.count_readings(TENANT) == stored


def test_ctrl_c_stops_the_demo_in_order(tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals the whole foreground group: the embedded broker must not go first,
    or ingest reports a lost broker on its way out."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "tomning", "demo", "--period-s", "1"], cwd=tmp_path,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "COLUMNS": "120"}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 90
        while "dispatcher key" not in (line := demo.stdout.readline()):
            assert line, "the demo ended before it started"
            assert time.monotonic() < deadline, "the demo did not start"
        time.sleep(3)
        os.killpg(demo.pid, signal.SIGINT)  # as the terminal does: the demo and its broker
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    assert demo.returncode == 0, err
    assert int(out.rsplit("stored readings:", 1)[1].split()[0]) >= 120
    assert "WARNING" not in err, err  # nothing reads like a fault
    assert "ERROR" not in err, err


def test_the_simulator_feeds_ingest_through_mosquitto(tmp_path: Path, mosquitto: Mosquitto) -> None:
    registry_url = f"sqlite:///{tmp_path / 'var' / 'registry.sqlite'}"
    (tmp_path / "var").mkdir()
    with Registry.connect(registry_url) as registry:
        upgrade(registry.engine)
        seed_kalmar(registry)
        store = SqliteStore(tmp_path / "ts.sqlite")
        with running_ingest(mosquitto.port, registry, store, tmp_path / "spool") as ingest:
            env = {"TOMNING_MQTT__HOST": "127.0.0.1", "TOMNING_MQTT__PORT": str(mosquitto.port),
                   "TOMNING_REGISTRY__URL": registry_url}  # fmt: skip
            tomning(
                "simulate", "--ticks", "3", "--period-s", "0.2", "--bad-share", "0.1", cwd=tmp_path, env=env
            )
            eventually(lambda: store.count_readings(TENANT) + len(registry.dead_letters(TENANT)) == 360)
            assert ingest.report()["status"] == "ok"
        assert len(registry.dead_letters(TENANT)) > 0
        assert len(registry.states(TENANT)) == 120
        store.close()


def test_webhook_secrets_kept_in_clear_are_sealed_by_the_command_with_a_key_it_made(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from core.models import EventKind, Tenant
    from core.registry import Registry, schema

    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    tomning("db", "upgrade", cwd=tmp_path, env={"TOMNING_REGISTRY__URL": url})
    with Registry.connect(url) as registry:
        registry.add_tenant(Tenant(id="kalmar", name="Kalmar kommun"))
        _, secret = registry.add_webhook("kalmar", "https://example.org/hook", [EventKind.FIRE_RISK],
                                         at=datetime.now(UTC), by="test")  # fmt: skip
    key = tomning("webhooks", "key", cwd=tmp_path).strip()
    env = {"TOMNING_REGISTRY__URL": url, "TOMNING_WEBHOOKS__SECRET_KEYS": key}
    assert (
        tomning("webhooks", "reseal", cwd=tmp_path, env=env).strip()
        == "1 webhook secret(s) sealed with the first key"
    )
    with Registry.connect(url) as registry, registry.engine.connect() as conn:
        stored = conn.execute(select(schema.webhooks.c.secret)).scalar_one()
    from pydantic import SecretStr

    from api.webhooks import Secrets

    assert stored != secret
    assert Secrets(SecretStr(key)).open(stored) == secret
    refused = subprocess.run([sys.executable, "-m", "tomning", "webhooks", "reseal"], cwd=tmp_path,
                             env=os.environ | {"TOMNING_REGISTRY__URL": url}, capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert refused.returncode != 0
    assert "set TOMNING_WEBHOOKS__SECRET_KEYS first" in refused.stderr
