"""`tomning devices` as an operator runs it: provision, health, revoke; files a Mosquitto can load."""

from __future__ import annotations

from pathlib import Path

from core.brokeraccess import verify_password
from core.registry import Registry
from core.registry.migrate import upgrade
from tests.integration.pipeline_helpers import TENANT, seed_kalmar
from tests.integration.test_commands import tomning


def test_provision_health_and_revoke(tmp_path: Path) -> None:
    registry_url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    with Registry.connect(registry_url) as registry:
        upgrade(registry.engine)
        seed_kalmar(registry, stations=1)
        bin_id = registry.bins(TENANT)[0].id
    env = {
        "TOMNING_REGISTRY__URL": registry_url,
        "TOMNING_STORE__SQLITE_PATH": str(tmp_path / "ts.sqlite"),
        "TOMNING_MQTT__HOST": "broker.kalmar.se",
        "TOMNING_MQTT__USERNAME": "tomning-platform",
        "TOMNING_MQTT__PASSWORD": "platform-secret",
        "TOMNING_BROKER__PASSWORD_FILE": str(tmp_path / "pw"),
        "TOMNING_BROKER__ACL_FILE": str(tmp_path / "acl"),
    }
    shown = tomning(
        "devices",
        "provision",
        "--tenant",
        TENANT,
        "--device",
        "new-1",
        "--bin",
        bin_id,
        cwd=tmp_path,
        env=env,
    )
    password = shown.split('DEVICE_PASSWORD = "')[1].split('"')[0]
    assert 'BROKER_HOST = "broker.kalmar.se"' in shown
    accounts = dict(line.split(":", 1) for line in (tmp_path / "pw").read_text().splitlines())
    assert verify_password(password, accounts["new-1@kalmar"])
    assert verify_password("platform-secret", accounts["tomning-platform"])
    assert "topic write tomning/kalmar/devices/new-1/up" in (tmp_path / "acl").read_text()
    health = tomning("devices", "health", "--tenant", TENANT, cwd=tmp_path, env=env | {"COLUMNS": "160"})
    assert "new-1" in health
    assert "5 silent (100%)" in health  # four seeded devices and the new one: none has reported
    tomning("devices", "revoke", "--tenant", TENANT, "--device", "new-1", cwd=tmp_path, env=env)
    assert "new-1@kalmar" not in (tmp_path / "pw").read_text()
    assert "tomning-platform" in (tmp_path / "pw").read_text()
