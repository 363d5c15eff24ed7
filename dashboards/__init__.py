"""Grafana as code: Tömning's dashboards over InfluxDB (InfluxQL), their provisioning, and push."""
