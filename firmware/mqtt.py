# A small MQTT 3.1.1 client: CONNECT with a last will, QoS 1 PUBLISH that waits for its PUBACK,
# SUBSCRIBE for the retained config. Runs on MicroPython and CPython (tests use real Mosquitto).
# umqtt.simple, MicroPython's own, does not run under CPython and waits on PUBACK without a bound.

import struct

CONNACK_REASONS = {
    1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
    4: "bad user name or password", 5: "not authorised",
}


class MQTTError(Exception):
    pass


def _length(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value):
    data = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(data)) + data


class Client:
    def __init__(self, client_id, host, port=1883, user=None, password=None, keepalive=60, tls=False,
                 timeout_s=10.0):
        self.client_id, self.host, self.port = client_id, host, port
        self.user, self.password, self.keepalive, self.tls = user, password, keepalive, tls
        self.timeout_s = timeout_s
        self.will = None
        self.sock = None
        self.pid = 0
        self.on_message = None

    def set_last_will(self, topic, message, retain=True):
        self.will = (topic, message, retain)

    def _send(self, data):
        view = memoryview(data)
        while len(view):
            sent = self.sock.send(view)
            view = view[sent:]

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                self.close()
                raise MQTTError("connection closed by the broker")
            data += chunk
        return data

    def _packet(self):
        header = self._read(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._read(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return header, self._read(length) if length else b""

    def connect(self, clean_session=True):
        try:
            self._connect(clean_session)
        except Exception:
            self.close()
            raise

    def _connect(self, clean_session):
        import socket  # here, not at the top: ports without networking still run the logic

        address = socket.getaddrinfo(self.host, self.port)[0][-1]
        self.sock = socket.socket()
        self.sock.settimeout(self.timeout_s)
        self.sock.connect(address)
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if hasattr(context, "load_default_certs"):
                context.load_default_certs()
            self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        flags = 0x02 if clean_session else 0
        payload = _string(self.client_id)
        if self.will:
            topic, message, retain = self.will
            flags |= 0x04 | 0x08 | (0x20 if retain else 0)  # will, will QoS 1, will retain
            payload += _string(topic) + _string(message)
        if self.user is not None:
            flags |= 0x80
            payload += _string(self.user)
        if self.password is not None:
            flags |= 0x40
            payload += _string(self.password)
        body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", self.keepalive) + payload
        self._send(bytes([0x10]) + _length(len(body)) + body)
        header, data = self._packet()
        if header != 0x20 or len(data) != 2:
            raise MQTTError("no CONNACK from the broker")
        if data[1]:
            raise MQTTError("broker refused: " + CONNACK_REASONS.get(data[1], str(data[1])))

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def publish(self, topic, message, retain=False):
        """QoS 1: returns once the broker acknowledged; raises MQTTError otherwise."""
        pid = self._next_pid()
        data = message.encode() if isinstance(message, str) else message
        body = _string(topic) + struct.pack("!H", pid) + data
        self._send(bytes([0x32 | (1 if retain else 0)]) + _length(len(body)) + body)
        while True:
            header, payload = self._packet()
            if header == 0x40 and struct.unpack("!H", payload[:2])[0] == pid:
                return
            self._dispatch(header, payload)

    def subscribe(self, topic):
        pid = self._next_pid()
        body = struct.pack("!H", pid) + _string(topic) + bytes([1])
        self._send(bytes([0x82]) + _length(len(body)) + body)
        while True:
            header, payload = self._packet()
            if header == 0x90 and struct.unpack("!H", payload[:2])[0] == pid:
                if payload[2] == 0x80:
                    raise MQTTError("subscription to " + topic + " refused")
                return
            self._dispatch(header, payload)

    def wait_msg(self, timeout_s):
        """Handle one incoming packet within `timeout_s`; False when none came."""
        self.sock.settimeout(timeout_s)
        try:
            header, payload = self._packet()
        except OSError:
            return False
        finally:
            self.sock.settimeout(self.timeout_s)
        self._dispatch(header, payload)
        return True

    def _dispatch(self, header, payload):
        if header & 0xF0 != 0x30:
            return
        qos = (header >> 1) & 0x03
        size = struct.unpack("!H", payload[:2])[0]
        topic = payload[2:2 + size].decode()
        rest = payload[2 + size:]
        if qos:
            self._send(bytes([0x40, 2]) + rest[:2])
            rest = rest[2:]
        if self.on_message:
            self.on_message(topic, rest)

    def disconnect(self):
        try:
            self._send(b"\xe0\x00")
        finally:
            self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
