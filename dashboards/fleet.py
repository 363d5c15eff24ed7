"""Fleet overview: a map of bins by fill, bins over threshold, alerts, silent devices, batteries."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, geomap, stat, table, timeseries
from grafana_foundation_sdk.models.common import FrameGeometrySourceMode
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from dashboards.board import DISTRICT, FILTER, FRACTION, TENANT, Board
from dashboards.influxql import Target

LATEST = (
    f'SELECT last("filling_level") AS "fill" FROM "readings" WHERE $timeFilter AND {FILTER} GROUP BY "bin"'
)


def _map() -> geomap.Panel:
    markers = (
        common.MapLayerOptions()
        .type("markers")
        .name("Kärl / Bins")
        .location(
            common.FrameGeometrySource().mode(FrameGeometrySourceMode.COORDS).latitude("lat").longitude("lon")
        )
        .config({"color": {"field": "fill"}, "size": {"fixed": 6}, "showLegend": True})
    )
    return (
        geomap.Panel()
        # the SDK types lat/lon as int; Grafana takes degrees with decimals
        .view(geomap.MapViewConfig().id("fit").lat(56.66).lon(16.36).zoom(11))  # type: ignore[arg-type]
        .basemap(common.MapLayerOptions().type("osm-standard").name("OpenStreetMap"))
        .layers([markers])
        .unit("percentunit")
        .min(0)
        .max(1)
        # fills (A) and places (B) come from two measurements: Grafana joins them on the bin
        .with_transformation(
            DataTransformerConfig(id_val="joinByField", options={"byField": "bin", "mode": "outer"})
        )
    )


def board() -> Board:
    b = Board(
        "tomning-fleet", "Tömning · Flotta / Fleet",
        "Hur fulla kärlen är nu, larm och sensorer / How full the bins are, alerts and sensors",
        variables=[TENANT, DISTRICT, FRACTION],
    )  # fmt: skip
    fills = Target(LATEST, ("fill",), "table", group_by=("bin",))
    places = Target(
        'SELECT last("lat") AS "lat", last("lon") AS "lon" FROM "bins" WHERE tenant =~ /^$tenant$/ '
        'AND "district" =~ /^$district$/ AND "fraction" =~ /^$fraction$/ GROUP BY "bin"',
        ("lat", "lon"), "table", ref_id="B", group_by=("bin",),
    )  # fmt: skip
    b.add(_map(), "Kärl efter fyllnad / Bins by fill", fills, places, width=16, height=14)  # fmt: skip
    over = f'SELECT count("margin") FROM (SELECT last("filling_level") - last("threshold") AS "margin" FROM "readings" WHERE $timeFilter AND {FILTER} GROUP BY "bin") WHERE "margin" >= 0'
    b.add(stat.Panel(), "Över tröskel / Over threshold", Target(over, ("count",)), width=4, height=7)
    b.add(stat.Panel(), "Rapporterande kärl / Bins reporting",
          Target(f'SELECT count("fill") FROM ({LATEST})', ("count",)), width=4, height=7)  # fmt: skip
    silent = 'SELECT count("value") FROM "events" WHERE $timeFilter AND tenant =~ /^$tenant$/ AND "kind" = \'silent\''
    b.add(stat.Panel(), "Tysta sensorer / Silent devices", Target(silent, ("count",)), width=4, height=7)
    mean_fill = f'SELECT mean("filling_level") FROM "readings" WHERE $timeFilter AND {FILTER} GROUP BY time($__interval), "fraction" fill(none)'
    b.add(stat.Panel().unit("percentunit"), "Medelfyllnad / Mean fill",
          Target(mean_fill, ("mean",), group_by=("fraction",)), width=4, height=7)  # fmt: skip
    alerts = (
        'SELECT "kind", "bin", "detail", "value" FROM "events" WHERE $timeFilter AND tenant =~ /^$tenant$/ '
        "AND \"kind\" != 'emptied' ORDER BY time DESC LIMIT 200"
    )
    b.add(table.Panel(), "Larm / Alerts", Target(alerts, ("kind", "bin", "detail"), "table"), width=12)
    battery = f'SELECT min("battery_v") FROM "readings" WHERE $timeFilter AND {FILTER} GROUP BY time($__interval), "fraction" fill(none)'
    b.add(timeseries.Panel().unit("volt"), "Lägsta batterispänning / Lowest battery",
          Target(battery, ("min",), group_by=("fraction",)), width=12)  # fmt: skip
    by_bin = (
        'SELECT last("filling_level") AS "fill", last("battery_v") AS "battery_v", last("temperature_c") AS '
        f'"temperature_c" FROM "readings" WHERE $timeFilter AND {FILTER} GROUP BY "bin", "fraction", "district"'
    )
    b.add(table.Panel(), "Kärl / Bins", Target(by_bin, ("fill", "battery_v"), "table",
                                               group_by=("bin", "fraction", "district")), width=24)  # fmt: skip
    return b
