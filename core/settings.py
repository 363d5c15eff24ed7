"""Typed settings from TOMNING_* environment variables and an optional TOML file, read once."""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "TOMNING_CONFIG"
DEFAULT_CONFIG_FILE = Path("tomning.toml")


class MqttSettings(BaseModel):
    host: str | None = Field(None, description="broker host; unset: the embedded broker")
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    protocol: Literal["v5", "v311"] = "v5"
    keepalive_s: int = Field(30, ge=5, le=3600)


class StoreSettings(BaseModel):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    sqlite_path: Path = Path("var/readings.sqlite")
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "tomning"
    influx_retention_policy: str = ""
    influx_write_api: Literal["v1", "v2"] = Field(
        "v1", description="v2: /api/v2/write via influxdb-client (InfluxDB >= 1.8, 2.x, 3.x)"
    )
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_token: SecretStr | None = None
    influx_org: str = "-"
    timeout_s: float = Field(10.0, gt=0, le=300)


class RegistrySettings(BaseModel):
    url: SecretStr = SecretStr("sqlite:///var/registry.sqlite")


class IngestSettings(BaseModel):
    client_id: str = Field("tomning-ingest-1", description="stable per worker: it names the session")
    shared_group: str = "tomning-ingest"
    session_expiry_s: int = Field(7 * 86_400, ge=0)
    receive_maximum: int = Field(1000, ge=1, le=65535)
    batch_size: int = Field(500, ge=1, le=50_000)
    batch_max_wait_s: float = Field(0.2, gt=0, le=60)
    spool_dir: Path = Path("var/spool")
    spool_max_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    retry_interval_s: float = Field(2.0, gt=0, le=300)
    stall_after_s: float = Field(
        60.0, gt=0, description="/healthz answers 503 when messages wait and none is stored for this long"
    )
    max_payload_bytes: int = Field(64 * 1024, ge=256, le=16 * 1024 * 1024)
    max_batch_readings: int = Field(1000, ge=1)
    max_age_days: float = Field(30, gt=0)
    max_skew_s: float = Field(300, ge=0)
    health_host: str = "127.0.0.1"
    health_port: int = Field(9108, ge=0, le=65535)
    silent_check_interval_s: float = Field(60.0, gt=0)
    silent_after_intervals: float = Field(3.0, gt=1)
    lorawan: bool = Field(True, description="also take The Things Stack v3 and ChirpStack v4 uplinks")
    stats_interval_s: float = Field(10.0, gt=0, description="ingest's own rates into measurement `ingest`")


class BrokerAccessSettings(BaseModel):
    """Where `tomning devices` keeps Mosquitto's password and ACL files, and how to reload it."""

    password_file: Path = Path("var/broker/tomning.passwd")
    acl_file: Path = Path("var/broker/tomning.acl")
    pid_file: Path | None = Field(None, description="Mosquitto's pid_file: SIGHUP after each change")


class GrafanaSettings(BaseModel):
    url: str = "http://127.0.0.1:3000"
    token: SecretStr | None = Field(None, description="a service account token (Editor)")
    influx_url: str | None = Field(None, description="InfluxDB as Grafana reaches it; default: store's")
    influx_user: str | None = Field(None, description="the user Grafana reads InfluxDB as; default: store's")
    influx_password: SecretStr | None = None


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    token_ttl_s: int = Field(12 * 3600, ge=60, description="life of a token from /v1/auth/token")
    key_cache_s: float = Field(5.0, ge=0, le=300, description="how long a key is trusted between lookups")
    plan_time_limit_s: float = Field(10.0, gt=0, le=600, description="route search per plan, by default")
    plan_time_limit_max_s: float = Field(120.0, gt=0, le=600, description="the most a request may ask for")
    public_url: str = Field("http://127.0.0.1:8000", description="how phones reach the API (links, QR)")
    sign_in_failures: int = Field(
        5, ge=1, le=1000, description="wrong passwords for one user within `sign_in_window_s` before a pause"
    )
    sign_in_window_s: float = Field(900, gt=0, le=86_400, description="how long failed sign-ins count")
    metrics_token: SecretStr | None = Field(
        None, description="a bearer token /metrics asks Prometheus for; unset: /metrics answers anyone"
    )


class PlanningSettings(BaseModel):
    at: str = Field(
        "14:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time the next day is planned"
    )
    tenants: dict[str, str] = Field(
        default_factory=dict, description="a tenant's own time, e.g. {kalmar = '13:30'}"
    )
    grace_s: float = Field(600, ge=0, description="a run missed by less than this (a restart) still happens")


class WebhookSettings(BaseModel):
    allow_private: bool = Field(
        False,
        description="let webhooks post to loopback and private addresses (off: a tenant's key cannot "
        "make the platform call its own internal services)",
    )
    timeout_s: float = Field(10.0, gt=0, le=60, description="how long a post may take")
    secret_keys: SecretStr | None = Field(
        None,
        description="Fernet keys, comma-separated, that seal the webhooks' signing secrets in the registry: "
        "the first seals, each opens (to rotate, put a new one first and run `tomning webhooks reseal`); "
        "`tomning webhooks key` makes one. Unset: the secrets are kept in clear",
    )

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, keys: SecretStr | None) -> SecretStr | None:
        for n, key in enumerate((keys.get_secret_value() if keys else "").split(","), start=1):
            try:
                size = len(base64.urlsafe_b64decode(key.strip().encode())) if key.strip() else 32
            except (binascii.Error, ValueError):
                size = 0
            if size != 32:
                raise ValueError(f"key {n} is not a Fernet key (32 bytes, url-safe base64): "
                                 "`tomning webhooks key` makes one")  # fmt: skip
        return keys


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TOMNING_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )

    timezone: str = "Europe/Stockholm"
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = StoreSettings()
    registry: RegistrySettings = RegistrySettings()
    ingest: IngestSettings = IngestSettings()
    grafana: GrafanaSettings = GrafanaSettings()
    broker: BrokerAccessSettings = BrokerAccessSettings()
    api: ApiSettings = ApiSettings()
    planning: PlanningSettings = PlanningSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, settings_cls.model_config.get("toml_file"))
        return init_settings, env_settings, toml


def load(config_file: Path | None) -> Settings:
    """Settings from the environment over `config_file` (TOML) over defaults."""

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return _FromFile()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """For entry points only: $TOMNING_CONFIG, else ./tomning.toml when present."""
    named = os.environ.get(CONFIG_ENV)
    path = Path(named) if named else DEFAULT_CONFIG_FILE
    if named and not path.is_file():
        raise FileNotFoundError(f"{CONFIG_ENV}={named}: no such file")
    return load(path if path.is_file() else None)
