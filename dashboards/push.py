"""Pushes the folder, the data source and the dashboards to a running Grafana, idempotently."""

from __future__ import annotations

import logging
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.influxql import DATASOURCE_UID
from dashboards.provision import FOLDER_TITLE, FOLDER_UID, dashboard_json

log = logging.getLogger(__name__)


def datasource(*, influx_url: str, database: str, user: str | None, password: str | None) -> dict[str, Any]:
    return {
        "name": "Tömning InfluxDB", "uid": DATASOURCE_UID, "type": "influxdb", "access": "proxy",
        "url": influx_url, "user": user or "", "jsonData": {"dbName": database, "httpMode": "GET"},
        "secureJsonData": {"password": password or ""},
    }  # fmt: skip


def push(api: GrafanaApi, source: dict[str, Any]) -> list[str]:
    """Create or update; a second push changes nothing but versions. Returns what it did."""
    done = []
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        done.append(f"created folder {FOLDER_TITLE}")
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
        api.datasource.update_datasource_by_uid(DATASOURCE_UID, source)
        done.append("updated data source")
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.datasource.create_datasource(source)
        done.append("created data source")
    for name, document in dashboard_json().items():
        api.dashboard.update_dashboard({"dashboard": document, "folderUid": FOLDER_UID, "overwrite": True})
        done.append(f"pushed {name}")
    return done
