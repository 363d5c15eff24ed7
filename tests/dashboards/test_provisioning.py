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

from dashboards.catalog import boards
from dashboards.influxql import DATASOURCE_UID
from dashboards.provision import OUTPUT, render
from tests.harness.fake_grafana import FakeGrafana


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


def push(grafana: FakeGrafana, tmp_path: Path) -> str:
    env = os.environ | {"TOMNING_GRAFANA__URL": grafana.url, "TOMNING_GRAFANA__TOKEN": grafana.token,
                        "TOMNING_STORE__INFLUX_URL": "http://influxdb:8086"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "tomning", "dashboards", "push"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOMNING_")}
    result = subprocess.run([sys.executable, "-m", "tomning", "dashboards", "push"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode != 0
    assert "TOMNING_GRAFANA__TOKEN" in result.stderr
