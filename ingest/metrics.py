"""Prometheus metrics of one ingest service (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("tomning_ingest_messages_received", "MQTT messages received", registry=r)
        self.written = Counter("tomning_ingest_readings_written", "Readings written to the store", registry=r)
        self.spooled = Counter("tomning_ingest_readings_spooled", "Readings put in the spool", registry=r)
        self.replayed = Counter("tomning_ingest_batches_replayed", "Spooled batches replayed", registry=r)
        self.dead_letters = Counter(
            "tomning_ingest_dead_letters", "Payloads or readings refused", ["reason"], registry=r
        )
        self.events = Counter("tomning_ingest_events", "Events derived", ["kind"], registry=r)
        self.spool_bytes = Gauge("tomning_ingest_spool_bytes", "Bytes waiting in the spool", registry=r)
        self.spool_batches = Gauge("tomning_ingest_spool_batches", "Batches waiting in the spool", registry=r)
        self.queue = Gauge("tomning_ingest_queue_messages", "Messages received, not yet handled", registry=r)
        self.lag = Histogram(
            "tomning_ingest_lag_seconds",
            "From receipt of a message to its acknowledgement (durably stored)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )


def total(counter: Counter) -> int:
    """A counter's value summed over its labels."""
    return int(sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total")))


def sum_and_count(histogram: Histogram) -> tuple[float, int]:
    samples = [s for m in histogram.collect() for s in m.samples]
    total_ = sum(s.value for s in samples if s.name.endswith("_sum"))
    return total_, int(sum(s.value for s in samples if s.name.endswith("_count")))
