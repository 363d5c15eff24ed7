"""An InfluxQL target for the Grafana Foundation SDK (which ships none), and Grafana's macros."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE_UID = "tomning-influxdb"
DATASOURCE = DataSourceRef(type_val="influxdb", uid=DATASOURCE_UID)


class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL query, as Grafana's InfluxDB data source stores it."""

    def __init__(self, ref_id: str, query: str, result_format: str) -> None:
        self.ref_id, self.query, self.result_format = ref_id, query, result_format

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": DATASOURCE.to_json(),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }


@dataclass(frozen=True)
class Target(cogbuilder.Builder[cogvariants.Dataquery]):
    """A panel's query and what it must return: the columns, and for a series, the GROUP BY tags."""

    query: str
    columns: tuple[str, ...]
    result_format: str = "time_series"
    ref_id: str = "A"
    group_by: tuple[str, ...] = field(default=())

    def build(self) -> cogvariants.Dataquery:
        return InfluxQLQuery(self.ref_id, self.query, self.result_format)


def render(query: str, *, start: datetime, end: datetime, interval: str, variables: dict[str, str]) -> str:
    """The query as Grafana sends it: $timeFilter, $__interval and template variables replaced.

    A variable set to "All" matches everything, as Grafana does with allValue ".*".
    """
    text = query.replace("$timeFilter", f"time >= {int(start.timestamp() * 1000)}ms and time <= "
                                        f"{int(end.timestamp() * 1000)}ms")  # fmt: skip
    text = text.replace("$__interval", interval)
    for name in sorted(variables, key=len, reverse=True):
        value = variables[name]
        text = text.replace(f"${name}", ".*" if value == "All" else re.escape(value))
    if "$" in text.replace("$timeFilter", ""):
        unknown = re.findall(r"\$\w+", text)
        if unknown:
            raise ValueError(f"query uses variables nobody set: {unknown}")
    return text
