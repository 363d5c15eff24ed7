"""The ingest service: batches MQTT uplinks, stores them durably, then acknowledges them."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core import lorawan, topics
from core.contract import Limits
from core.errors import SpoolFull
from core.models import Bin, BinState, DeadLetter, Event, EventKind, Measurement, dump
from core.operations import bin_point
from core.registry import Registry, is_outage
from core.registry.store import Directory
from core.settings import IngestSettings, MqttSettings
from core.timeseries import TimeSeriesStore
from ingest import pipeline
from ingest.health import HealthServer
from ingest.message import Inbound
from ingest.metrics import Metrics, sum_and_count, total
from ingest.mqtt import Consumer
from ingest.sink import Batch, Sink
from ingest.spool import Spool

log = logging.getLogger(__name__)
DIRECTORY_MAX_AGE_S = 30.0  # provisioning reaches a running ingest within this, or at once on a miss
DIRECTORY_MIN_AGE_S = 2.0
# After the first message of a batch, a gap this long means the burst is over: store it now
# rather than wait out batch_max_wait_s (low latency when quiet, full batches under load).
LINGER_S = 0.01
# Bins' latest state and devices' last_seen reach the registry at most this much later; a bin read
# every few seconds is then written once, not once per batch.
STATE_FLUSH_S = 1.0


class IngestService:
    def __init__(
        self, *, mqtt: MqttSettings, settings: IngestSettings, registry: Registry, store: TimeSeriesStore
    ) -> None:
        self.settings, self.registry, self.store = settings, registry, store
        self.metrics = Metrics()
        self.limits = Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_batch=settings.max_batch_readings,
            max_age=timedelta(days=settings.max_age_days),
            max_skew=timedelta(seconds=settings.max_skew_s),
        )
        self.spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes)
        self.sink = Sink(store=store, spool=self.spool, reject=self._store_rejected)
        self.inbox: queue.Queue[Inbound] = queue.Queue(maxsize=settings.receive_maximum * 2)
        secret = mqtt.password.get_secret_value() if mqtt.password else None
        group = topics.private_group(settings.shared_group, secret) if mqtt.protocol == "v5" else None
        filters = [topics.uplink_filter(group)]
        if settings.lorawan:
            filters += [topics.shared(f, group) for f in (lorawan.TTS_FILTER, lorawan.CHIRPSTACK_FILTER)]
        self.consumer = Consumer(
            mqtt, client_id=settings.client_id, topic_filters=filters,
            session_expiry_s=settings.session_expiry_s, receive_maximum=settings.receive_maximum,
            on_message=self._receive,
        )  # fmt: skip
        self.health = HealthServer(
            settings.health_host, settings.health_port, health=self.report, registry=self.metrics.registry
        )
        self.states: dict[tuple[str, str], BinState] = {}
        self._directory = Directory(registry)
        self._bins_written: dict[tuple[str, str], Bin] = {}
        self._directory_at = time.monotonic()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._run, name="ingest-worker", daemon=True)
        self._silent_at = 0.0
        self.silent_reported: set[tuple[str, str]] = set()
        self._seen: dict[tuple[str, str], datetime] = {}
        self._unsaved_states: dict[tuple[str, str], BinState] = {}
        self._stats_at = time.monotonic()
        self._stats_totals: dict[str, float] = {}
        self._saved_at = time.monotonic()
        self._progress_at = time.monotonic()  # the last time a batch was stored, or nothing waited
        self._waiting = 0

    def start(self) -> None:
        self.states = {
            (s.tenant, s.bin_id): s for t in self.registry.tenants() for s in self.registry.states(t.id)
        }
        self._write_bins()
        # health tells the truth from the start: a store down at start was reported ok until a write failed
        self.sink.store_ok = self.store.ping()
        self.health.start()
        self._worker.start()
        self.consumer.start()
        log.info("ingest listening on %s; health on port %d", self.consumer.topic_filters, self.health.port)

    def stop(self, timeout_s: float = 60) -> None:
        """Stop taking messages, store and acknowledge what was taken, then disconnect."""
        self._stopping.set()
        self._worker.join(timeout_s)
        self.consumer.stop()
        self.health.stop()
        self.spool.close()

    def _receive(self, message: Inbound) -> None:
        if self._stopping.is_set():
            return  # not acknowledged: the broker keeps it in our session for the next start
        self.metrics.received.inc()
        self.inbox.put(message)

    def report(self) -> dict[str, Any]:
        connected = self.consumer.connected.is_set()
        waiting = self._waiting + self.inbox.qsize()
        stalled_s = time.monotonic() - self._progress_at if waiting else 0.0
        problems = [] if connected else ["not connected to the broker"]
        if stalled_s > self.settings.stall_after_s:
            problems.append(f"{waiting} messages wait and none was stored for {stalled_s:.0f} s")
        if self.spool.bytes >= self.spool.max_bytes:
            problems.append("the spool is full: nothing is acknowledged until the store returns")
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "mqtt_connected": connected,
            "store_ok": self.sink.store_ok,
            "spool_batches": self.spool.batches,
            "spool_bytes": self.spool.bytes,
            "queue": self.inbox.qsize(),
        }

    def _collect(self) -> list[Inbound]:
        """Up to batch_size messages; waits at most batch_max_wait_s, and only LINGER_S for a lull."""
        batch: list[Inbound] = []
        deadline = time.monotonic() + self.settings.batch_max_wait_s
        while len(batch) < self.settings.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=min(remaining, LINGER_S) if batch else remaining))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        pending: list[Inbound] = []
        while True:
            stopping = self._stopping.is_set()
            pending += self._collect()
            self.metrics.queue.set(self.inbox.qsize())
            self._waiting = len(pending)
            if pending:
                pending = self._handle_isolating(pending)
                if pending:  # kept and retried: never acknowledged before it is durable
                    time.sleep(self.settings.retry_interval_s)
            else:
                self._progress_at = time.monotonic()
                if self.spool.batches:
                    self._replay()
            self._check_silent()
            self._record_stats()
            if stopping and not pending and self.inbox.empty():
                self._save_derived()
                return

    def _replay(self) -> None:
        before = self.spool.batches
        if not self.sink.drain():
            time.sleep(min(self.settings.retry_interval_s, 0.5))
        self.metrics.replayed.inc(max(0, before - self.spool.batches))
        self._gauge_spool()

    def _gauge_spool(self) -> None:
        self.metrics.spool_bytes.set(self.spool.bytes)
        self.metrics.spool_batches.set(self.spool.batches)

    def _resolver(self, batch: Sequence[Inbound]) -> Directory:
        age = time.monotonic() - self._directory_at
        stale = age > DIRECTORY_MAX_AGE_S
        if not stale and age > DIRECTORY_MIN_AGE_S:
            stale = any(self._unknown(m) for m in batch)
        if stale:
            self._directory, self._directory_at = Directory(self.registry), time.monotonic()
            self._write_bins()
        return self._directory

    def _write_bins(self) -> None:
        """Each new or changed bin's place into the `bins` measurement, for the fleet map."""
        changed = [b for key, b in self._directory.bins.items() if self._bins_written.get(key) != b]
        if not changed:
            return
        now = datetime.now(UTC)
        try:
            self.store.write_measurements([bin_point(b, now) for b in changed])
        except Exception as exc:  # the map lags a little; the next refresh tries again
            log.warning("bins not written to the store: %s", exc)
            return
        self._bins_written.update({(b.tenant, b.id): b for b in changed})

    def _unknown(self, message: Inbound) -> bool:
        parsed = topics.parse(message.topic)
        return parsed is not None and self._directory.device(parsed.tenant, parsed.device_id) is None

    def _handle(self, batch: list[Inbound]) -> None:
        out = pipeline.process(batch, resolver=self._resolver(batch), states=self.states, limits=self.limits)
        where = self.sink.put(out.readings, out.events)  # raises SpoolFull: nothing acknowledged
        self.registry.add_dead_letters(out.dead_letters)
        self._count(out, where)
        self._follow_up(out)
        now = datetime.now(UTC)
        for message in batch:
            if self.consumer.ack(message):
                self.metrics.lag.observe((now - message.received_at).total_seconds())
        self._publish_dead_letters(out.dead_letters)

    def _handle_isolating(self, batch: list[Inbound]) -> list[Inbound]:
        """`_handle`; what is left to retry. A failure that is not an outage is one message's own: the
        batch is split until that message stands alone, and it is dead-lettered, so it holds up no other
        message or tenant (one poison uplink stopped every tenant's ingest, for good)."""
        try:
            self._handle(batch)
        except Exception as exc:
            if is_outage(exc):
                log.error("%d messages wait, not acknowledged: %s", len(batch), exc)
                return batch
            if len(batch) == 1:
                return [] if self._unprocessable(batch[0], exc) else batch
            log.warning("a batch of %d messages failed (%r): splitting it to find the cause", len(batch), exc)
            middle = len(batch) // 2
            left = self._handle_isolating(batch[:middle])
            return left + batch[middle:] if left else self._handle_isolating(batch[middle:])
        self._progress_at = time.monotonic()
        return []

    def _unprocessable(self, message: Inbound, exc: Exception) -> bool:
        """Dead-letter a message that fails alone; False when even that cannot be stored (retried)."""
        letter = pipeline.unprocessable(message, exc)
        try:
            self.registry.add_dead_letters([letter])
        except Exception:
            log.exception("message on %r failed and cannot be dead-lettered; retrying", message.topic[:200])
            return False
        log.error("message on %r dead-lettered as unprocessable: %r", message.topic[:200], exc)
        self.metrics.dead_letters.labels("unprocessable").inc()
        self.consumer.ack(message)
        self._publish_dead_letters([letter])
        return True

    def _count(self, out: pipeline.Outcome, where: str) -> None:
        (self.metrics.written if where == "store" else self.metrics.spooled).inc(len(out.readings))
        for letter in out.dead_letters:
            self.metrics.dead_letters.labels(letter.reason).inc()
        for event in out.events:
            self.metrics.events.labels(event.kind.value).inc()
        self._gauge_spool()
        if where == "spool" and self.spool.bytes > 0.9 * self.spool.max_bytes:
            log.error("spool above 90%%: ingest will stop acknowledging when it is full")

    def _follow_up(self, out: pipeline.Outcome) -> None:
        """Derived state: recomputable from the readings, so a failure here is logged, not fatal."""
        try:
            self.registry.add_events(out.events)
            self.states.update(out.states)
            self._unsaved_states.update(out.states)
            for key, ts in out.seen.items():
                self._seen[key] = max(ts, self._seen.get(key, ts))
                self.silent_reported.discard(key)
            if time.monotonic() - self._saved_at > STATE_FLUSH_S:
                self._save_derived()
        except Exception:
            log.exception("latest state and events of %d readings not saved", len(out.readings))

    def _save_derived(self) -> None:
        """Bins' latest states and devices' last_seen, coalesced: one row each per flush."""
        self.registry.save_states(self._unsaved_states.values())
        self.registry.touch_devices(self._seen)
        self._unsaved_states, self._seen, self._saved_at = {}, {}, time.monotonic()

    def _publish_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            try:
                self.consumer.publish(
                    topics.dead_letter(letter.tenant or "_"), json.dumps(dump(letter)).encode()
                )
            except Exception:
                log.exception("dead letter not published (it is stored)")

    def _store_rejected(self, batch: Batch, reason: str) -> None:
        letters = [
            DeadLetter(
                tenant=r.tenant, topic=topics.uplink(r.tenant, r.device_id), reason="store_rejected",
                detail=reason, payload=r.model_dump_json(by_alias=True), received_at=datetime.now(UTC),
            )
            for r in batch.readings
        ]  # fmt: skip
        letters += [
            DeadLetter(
                tenant=e.tenant, topic=topics.uplink(e.tenant, e.device_id) if e.device_id else "",
                reason="store_rejected", detail=reason, payload=e.model_dump_json(),
                received_at=datetime.now(UTC),
            )
            for e in batch.events
        ]  # fmt: skip
        self.registry.add_dead_letters(letters)
        self.metrics.dead_letters.labels("store_rejected").inc(len(letters))

    def _record_stats(self) -> None:
        """Every stats_interval_s, rates and gauges into the store's `ingest` measurement."""
        now = time.monotonic()
        elapsed = now - self._stats_at
        if elapsed < self.settings.stats_interval_s:
            return
        m = self.metrics
        lag_sum, lag_count = sum_and_count(m.lag)
        totals = {
            "received": total(m.received), "written": total(m.written), "spooled": total(m.spooled),
            "dead_letters": total(m.dead_letters), "events": total(m.events),
            "lag_sum": lag_sum, "lag_count": lag_count,
        }  # fmt: skip
        delta = {k: v - self._stats_totals.get(k, 0) for k, v in totals.items()}
        fields: dict[str, float | int] = {f"{k}_per_s": delta[k] / elapsed for k in list(totals)[:5]}
        fields |= {
            "spool_bytes": self.spool.bytes,
            "spool_batches": self.spool.batches,
            "queue": self.inbox.qsize(),
        }
        if delta["lag_count"]:
            fields["lag_mean_s"] = delta["lag_sum"] / delta["lag_count"]
        point = Measurement(
            name="ingest", tags={"worker": self.settings.client_id}, fields=fields, ts=datetime.now(UTC)
        )
        self._stats_totals, self._stats_at = totals, now
        try:
            self.store.write_measurements([point])
        except Exception as exc:  # statistics are not readings: dropped when the store is down
            log.debug("ingest statistics not written: %s", exc)

    def _check_silent(self) -> None:
        if time.monotonic() - self._silent_at < self.settings.silent_check_interval_s:
            return
        self._silent_at = time.monotonic()
        try:
            events = self.silent_events(datetime.now(UTC))
            if events:
                self.registry.add_events(events)
                self.sink.put([], events)
        except SpoolFull:
            log.error("spool full: silent-device events not stored this round")
        except Exception:
            log.exception("silent-device check failed")

    def silent_events(self, now: datetime) -> list[Event]:
        """One `silent` event per device quiet for more than N of its report intervals."""
        events = []
        self._save_derived()
        last_seen = {t.id: self.registry.last_seen(t.id) for t in self.registry.tenants()}
        for (tenant, device_id), device in self._directory.devices.items():
            seen = last_seen.get(tenant, {}).get(device_id)
            limit = timedelta(seconds=device.report_interval_s * self.settings.silent_after_intervals)
            if not device.enabled or seen is None or now - seen <= limit:
                continue
            if (tenant, device_id) in self.silent_reported:
                continue
            self.silent_reported.add((tenant, device_id))
            bin_ = self._directory.bin_at(tenant, device_id, now)
            events.append(
                Event(
                    tenant=tenant, kind=EventKind.SILENT, ts=now, device_id=device_id,
                    bin_id=bin_.id if bin_ else None, fraction=bin_.fraction if bin_ else None,
                    district=bin_.district if bin_ else "", value=(now - seen).total_seconds(),
                    detail=f"silent since {seen.isoformat()}",
                )
            )  # fmt: skip
        return events
