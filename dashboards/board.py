"""A dashboard under construction that remembers each panel's targets, so tests can run them."""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import geomap, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableOption, VariableRefresh

from dashboards.influxql import DATASOURCE, Target

FILTER = 'tenant =~ /^$tenant$/ AND "district" =~ /^$district$/ AND "fraction" =~ /^$fraction$/'
PanelBuilder = stat.Panel | table.Panel | timeseries.Panel | geomap.Panel


def variable(name: str, label: str, query: str, *, all_: bool = True) -> db.QueryVariable:
    built = (
        db.QueryVariable(name)
        .label(label)
        .datasource(DataSourceRef(type_val="influxdb", uid=DATASOURCE.uid))
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .current(VariableOption(text="All" if all_ else "", value="$__all" if all_ else ""))
    )
    return built.include_all(True).all_value(".*").multi(True) if all_ else built


TENANT = variable("tenant", "Kommun / Municipality", 'SHOW TAG VALUES FROM "readings" WITH KEY = "tenant"')
DISTRICT = variable(
    "district", "Område / District",
    'SHOW TAG VALUES FROM "readings" WITH KEY = "district" WHERE tenant =~ /^$tenant$/',
)  # fmt: skip
FRACTION = variable(
    "fraction", "Fraktion / Fraction",
    'SHOW TAG VALUES FROM "readings" WITH KEY = "fraction" WHERE tenant =~ /^$tenant$/',
)  # fmt: skip


class Board:
    def __init__(self, uid: str, title: str, description: str, *, variables: list[db.QueryVariable]) -> None:
        self.uid = uid
        self.builder = (
            db.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(["tomning"])
            .timezone("browser")
            .time("now-7d", "now")
            .refresh("1m")
            .editable()
        )
        for v in variables:
            self.builder.with_variable(v)
        self.variables = [v.build().name for v in variables]
        self.targets: list[tuple[str, Target]] = []

    def add(
        self, panel: PanelBuilder, title: str, *targets: Target, width: int = 12, height: int = 8
    ) -> Board:
        panel.title(title).datasource(DATASOURCE).span(width).height(height)
        for target in targets:
            panel.with_target(target)
            self.targets.append((title, target))
        self.builder.with_panel(panel)
        return self

    def annotate(self, name: str, query: str, color: str) -> Board:
        self._annotations = [*getattr(self, "_annotations", []), (name, query, color)]
        self.targets.append((f"annotation: {name}", Target(query, ("detail", "kind"), "table")))
        return self

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(json.dumps(self.builder.build(), cls=JSONEncoder))
        # The SDK's AnnotationQuery has no field for an InfluxQL query: Grafana's InfluxDB data
        # source reads `query` (and the columns) from the annotation itself.
        for name, query, color in getattr(self, "_annotations", []):
            document.setdefault("annotations", {}).setdefault("list", []).append({
                "name": name, "datasource": DATASOURCE.to_json(), "enable": True, "iconColor": color,
                "query": query, "textColumn": "detail", "tagsColumn": "kind",
            })  # fmt: skip
        return document
