"""The provisioning files are current, well-formed, and `tomning dashboards push` is idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core.settings import StoreSettings
from core.timeseries.influx import InfluxStore
from dashboards.catalog import boards
from dashboards.influxql import DATASOURCE_UID
from dashboards.provision import OUTPUT, render
from tests.conftest import unique
from tests.harness.fake_grafana import FakeGrafana
from tests.harness.services import InfluxDB


def test_committed_provisioning_is_what_the_code_generates() -> None:
    for relative, content in render().items():
        path = OUTPUT / relative
        assert path.is_file(), f"{relative} missing: run `tomning dashboards build`"
        assert path.read_text(encoding="utf-8") == content, (
            f"{relative} is stale: run `tomning dashboards build`"
        )


def test_provisioning_is_valid_for_grafana() -> None:
    (source,) = yaml.safe_load((OUTPUT / "datasources/tomning.yaml").read_text())["datasources"]
    assert (source["uid"], source["type"], source["jsonData"]["httpMode"]) == (
        DATASOURCE_UID,
        "influxdb",
        "GET",
    )
    (provider,) = yaml.safe_load((OUTPUT / "dashboards/tomning.yaml").read_text())["providers"]
    assert provider["options"]["path"].endswith("/tomning")
    uids = set()
    for path in sorted((OUTPUT / "dashboards/tomning").glob("*.json")):
        document = json.loads(path.read_text())
        assert document["schemaVersion"] >= 39, "a Grafana 11 schema"
        uids.add(document["uid"])
        for panel in document["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert panel["title"]
            assert all(t["rawQuery"] and t["query"].startswith(("SELECT", "SHOW")) for t in panel["targets"])
    assert uids == {b.uid for b in boards()}


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(token="glsa_test")
    yield fake
    fake.close()


def tomning(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOMNING_")}
    return subprocess.run([sys.executable, "-m", "tomning", *args], cwd=tmp_path, env=clean | env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def push(grafana: FakeGrafana, tmp_path: Path, *args: str, **env: str) -> str:
    result = tomning(tmp_path, "dashboards", "push", *args, TOMNING_GRAFANA__URL=grafana.url,
                     TOMNING_GRAFANA__TOKEN=grafana.token, TOMNING_STORE__INFLUX_URL="http://influxdb:8086",
                     **env)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_push_creates_then_updates_in_place(grafana: FakeGrafana, tmp_path: Path) -> None:
    first = push(grafana, tmp_path)
    assert "created folder Tömning" in first
    assert "created data source" in first
    second = push(grafana, tmp_path)
    assert "created" not in second
    assert "updated data source" in second
    assert list(grafana.folders) == ["tomning"]
    assert list(grafana.datasources) == [DATASOURCE_UID]
    assert grafana.datasources[DATASOURCE_UID]["url"] == "http://influxdb:8086"
    assert {uid: d["version"] for uid, d in grafana.dashboards.items()} == {b.uid: 2 for b in boards()}
    assert all(d["folderUid"] == "tomning" for d in grafana.dashboards.values())


def test_push_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    result = tomning(tmp_path, "dashboards", "push")
    assert result.returncode != 0
    assert "TOMNING_GRAFANA__TOKEN" in result.stderr


def test_each_municipality_gets_its_own_database_reader_and_grafana_data_source(
    grafana: FakeGrafana, tmp_path: Path, influxdb: InfluxDB
) -> None:
    database, user = unique("own") + "_{tenant}", unique("kalmar_reader")
    store = {"TOMNING_STORE__BACKEND": "influxdb", "TOMNING_STORE__INFLUX_URL": influxdb.url,
             "TOMNING_STORE__INFLUX_DATABASE": database}  # fmt: skip
    granted = tomning(tmp_path, "dashboards", "grant", "--tenant", "kalmar", "--user", user,
                      TOMNING_GRAFANA__INFLUX_PASSWORD="s3cret", **store)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    kalmar = database.replace("{tenant}", "kalmar")
    assert f"{user} may read {kalmar}" in granted.stdout
    with InfluxStore(StoreSettings(backend="influxdb", influx_url=influxdb.url)) as admin:
        grants = admin.query(f'SHOW GRANTS FOR "{user}"')
    assert [(g["database"], g["privilege"]) for g in grants] == [(kalmar, "READ")]
    # Kalmar's Grafana organisation (its token): a data source on Kalmar's database only, read as that user
    pushed = push(grafana, tmp_path, "--tenant", "kalmar", TOMNING_STORE__INFLUX_DATABASE=database,
                  TOMNING_GRAFANA__INFLUX_USER=user, TOMNING_GRAFANA__INFLUX_PASSWORD="s3cret")  # fmt: skip
    assert "created data source" in pushed
    source = grafana.datasources[DATASOURCE_UID]
    assert (source["jsonData"]["dbName"], source["user"], source["secureJsonData"]["password"]) == (
        kalmar, user, "s3cret"
    )  # fmt: skip
    # a store of one database cannot be split by tenant, nor one per tenant pushed as one
    one = tomning(tmp_path, "dashboards", "push", "--tenant", "kalmar", TOMNING_GRAFANA__TOKEN="t")
    assert one.returncode != 0
    assert "TOMNING_STORE__INFLUX_DATABASE" in one.stderr
    unnamed = tomning(tmp_path, "dashboards", "push", TOMNING_GRAFANA__TOKEN="t", **store)
    assert unnamed.returncode != 0
    assert "--tenant" in unnamed.stderr
