"""Settings: environment over TOML file over defaults; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, load


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tomning.toml"
    config.write_text('[mqtt]\nhost = "broker.kalmar.se"\nport = 8883\n[store]\nbackend = "influxdb"\n')
    monkeypatch.setenv("TOMNING_MQTT__PORT", "1884")
    settings = load(config)
    assert (settings.mqtt.host, settings.mqtt.port, settings.store.backend) == (
        "broker.kalmar.se",
        1884,
        "influxdb",
    )


def test_defaults_need_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(None)
    assert settings.mqtt.host is None  # the embedded broker
    assert settings.store.backend == "sqlite"
    assert settings.registry.url.get_secret_value().startswith("sqlite:///")


def test_secrets_are_masked_when_shown(tmp_path: Path) -> None:
    config = tmp_path / "tomning.toml"
    config.write_text('[store]\ninflux_password = "hunter2"\n[registry]\nurl = "postgresql://u:pw@db/t"\n')
    settings = load(config)
    shown = settings.model_dump_json() + repr(settings)
    assert "hunter2" not in shown
    assert "pw@db" not in shown
    assert settings.store.influx_password is not None
    assert settings.store.influx_password.get_secret_value() == "hunter2"


def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOMNING_MQTT__PORT", "70000")
    with pytest.raises(ValidationError, match="port"):
        Settings()
