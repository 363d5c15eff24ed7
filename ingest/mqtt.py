"""The one module that speaks paho-mqtt: the ingest consumer and a publisher for simulated devices."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import MqttSettings
from ingest.message import Inbound

log = logging.getLogger(__name__)


def _client(settings: MqttSettings, client_id: str, *, persistent: bool, manual_ack: bool) -> paho.Client:
    v5 = settings.protocol == "v5"
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else not persistent,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        manual_ack=manual_ack,
    )
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    if settings.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(1, 30)
    return client


def _connect(
    client: paho.Client, settings: MqttSettings, *, persistent: bool, props: Properties | None
) -> None:
    host = settings.host or "127.0.0.1"
    if settings.protocol == "v5":
        client.connect_async(
            host, settings.port, settings.keepalive_s, clean_start=not persistent, properties=props
        )
    else:
        client.connect_async(host, settings.port, settings.keepalive_s)
    client.loop_start()


class Consumer:
    """Subscribes with QoS 1 and a persistent session; acknowledges only when told to.

    A message may be acknowledged only on the connection it came on: after a reconnect the broker
    redelivers what was not acknowledged, and an old packet id could name a new message.
    """

    def __init__(
        self, settings: MqttSettings, *, client_id: str, topic_filters: list[str],
        session_expiry_s: int, receive_maximum: int, on_message: Callable[[Inbound], None],
    ) -> None:  # fmt: skip
        self.settings, self.topic_filters = settings, topic_filters
        self._deliver = on_message
        self._client = _client(settings, client_id, persistent=True, manual_ack=True)
        self._props: Properties | None = None
        if settings.protocol == "v5":
            self._props = Properties(PacketTypes.CONNECT)
            self._props.SessionExpiryInterval = session_expiry_s
            self._props.ReceiveMaximum = receive_maximum
        self._client.max_inflight_messages_set(receive_maximum)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self.epoch = 0
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._leaving = False  # stop() asked for the disconnection

    def start(self) -> None:
        _connect(self._client, self.settings, persistent=True, props=self._props)

    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self.epoch += 1
        client.subscribe([(f, 1) for f in self.topic_filters])
        self.connected.set()
        log.info("connected to the broker (session present: %s)", flags.session_present)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if self._leaving:
            log.info("disconnected from the broker on stopping")
        else:
            log.warning("disconnected from the broker: %s (reconnecting)", reason)

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            inbound = Inbound(
                topic=message.topic, payload=bytes(message.payload), received_at=datetime.now(UTC),
                mid=message.mid, qos=message.qos, epoch=self.epoch,
            )  # fmt: skip
            self._deliver(inbound)
        except Exception:  # one bad message must never stop the network loop
            log.exception("message on %r could not be handed over; it will be redelivered", message.topic)

    def ack(self, message: Inbound) -> bool:
        """Acknowledge to the broker; False when the connection it came on is gone."""
        if message.qos == 0:
            return True
        with self._lock:
            if message.epoch != self.epoch or not self.connected.is_set():
                return False
        return self._client.ack(message.mid, message.qos) == paho.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        self._client.publish(topic, payload, qos=qos)

    def stop(self) -> None:
        self._leaving = True
        self._client.disconnect()
        self._client.loop_stop()


class Publisher:
    """A QoS 1 publisher (the simulator's devices, the benchmark, tests) that can wait for acks."""

    def __init__(self, settings: MqttSettings, *, client_id: str, max_inflight: int = 1000) -> None:
        self.settings = settings
        self._client = _client(settings, client_id, persistent=True, manual_ack=False)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self.connected = threading.Event()
        self._client.on_connect = lambda *_: self.connected.set()
        self._client.on_disconnect = lambda *_: self.connected.clear()
        self._pending: list[paho.MQTTMessageInfo] = []

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float = 30) -> None:
        _connect(self._client, self.settings, persistent=True, props=None)
        if not self.connected.wait(timeout_s):
            raise ConnectionError(f"no broker at {self.settings.host}:{self.settings.port}")

    def subscribe(self, topic_filter: str, on_message: Callable[[str, bytes], None]) -> None:
        """Deliver messages on `topic_filter` to `on_message(topic, payload)` (QoS 1)."""

        def deliver(_c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
            try:
                on_message(message.topic, bytes(message.payload))
            except Exception:
                log.exception("message on %r not handled", message.topic)

        self._client.message_callback_add(topic_filter, deliver)
        self._client.subscribe(topic_filter, qos=1)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=qos, retain=retain))
        if len(self._pending) > 10_000:
            self._pending = [p for p in self._pending if not p.is_published()]

    def flush(self, timeout_s: float = 120) -> None:
        """Wait until the broker acknowledged everything published so far."""
        for info in self._pending:
            info.wait_for_publish(timeout=timeout_s)
            if not info.is_published():
                raise TimeoutError(f"broker did not acknowledge message {info.mid} in {timeout_s} s")
        self._pending.clear()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
