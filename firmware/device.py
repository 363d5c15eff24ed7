# One wake-up of a bin sensor: measure, decide, maybe send, and say how long to sleep.
# Hardware comes in through `hal` (hal_esp32.py on the device, a fake in tests).

import json

import config as cfg
import measure
import payload
import schedule
from mqtt import Client, MQTTError
from outbox import Outbox

FW_VERSION = "1.0.0"
CHECK_S = 300  # wake this often to look for fire or a knock-over, even when no report is due


class Identity:
    def __init__(self, tenant, device_id, password, host, port=1883, tls=False):
        self.tenant, self.device_id, self.password = tenant, device_id, password
        self.host, self.port, self.tls = host, port, tls
        self.username = device_id + "@" + tenant  # what `tomning devices provision` registers


class Device:
    def __init__(self, hal, identity, state_path, outbox_path):
        self.hal, self.id = hal, identity
        self.state_path = state_path
        self.state = self._load()
        self.config = self.state.get("config") or dict(cfg.DEFAULTS)
        self.outbox = Outbox(outbox_path, self.config["max_buffered"])
        self.topics = payload.topics(identity.tenant, identity.device_id)
        self.log = []

    def _load(self):
        try:
            with open(self.state_path) as handle:
                return json.loads(handle.read())
        except (OSError, ValueError):
            return {}

    def _save(self):
        self.state["config"] = self.config
        with open(self.state_path, "w") as handle:
            handle.write(json.dumps(self.state))
        self.outbox.save()

    def measure(self):
        c = self.config
        temperature = self.hal.temperature_c()
        if c["sensor"] == "vl53l1x":
            distance = measure.robust_distance(self.hal.tof_mm_samples(c["pings"]), 30, 4000)
        else:
            echoes = self.hal.echo_us_samples(c["pings"])
            samples = [measure.echo_to_mm(e, temperature if temperature is not None else 15.0) for e in echoes]
            distance = measure.robust_distance(samples, measure.ULTRASONIC_MIN_MM)
        tilt = measure.tilt_deg(*self.hal.accel())
        return distance, temperature, tilt

    def cycle(self):
        """Seconds to sleep after this wake-up."""
        c, now = self.config, self.hal.now()
        distance, temperature, tilt = self.measure()
        previous = self.state.get("last")
        if distance is None:
            level = previous["level"] if previous else 0.0  # no trustworthy echo: report no distance
        else:
            level = measure.filling_level(distance, c["empty_distance_mm"], c["full_distance_mm"])
        hours = (now - previous["ts"]) / 3600.0 if previous else 0.0
        reasons = schedule.urgent(c, temperature, previous and previous.get("temperature"), tilt)
        interval = schedule.interval_s(c, level, previous and previous["level"], hours)
        due = now >= self.state.get("next_report", 0) or bool(reasons)
        if due:
            seq = self.state.get("seq", 0) + 1
            self.state["seq"] = seq
            self.outbox.add(payload.reading(now, seq, distance, level, temperature, self.hal.battery_v(),
                                            tilt, self.hal.rssi(), FW_VERSION))
            self.state["last"] = {"ts": now, "level": level, "temperature": temperature}
            if self.send():
                self.state["next_report"] = now + interval
            else:  # undelivered: kept in the outbox, tried again at the next check
                self.state["next_report"] = now + CHECK_S
        self._save()
        return min(CHECK_S, max(1, self.state["next_report"] - now))

    def send(self):
        """Deliver the outbox as one message; bounded retries with backoff. True when delivered."""
        if not self.outbox.items:
            return True
        attempts = self.config["max_attempts"]
        for attempt in range(1, attempts + 1):
            try:
                return self._session()
            except (OSError, MQTTError) as exc:
                self.log.append("attempt %d: %s" % (attempt, exc))
                if attempt < attempts:
                    self.hal.sleep(schedule.backoff_s(attempt))
        return False

    def _session(self):
        if not self.hal.connect_wifi(15):
            raise OSError("no Wi-Fi")
        i = self.id
        client = Client(i.username, i.host, i.port, user=i.username, password=i.password, tls=i.tls)
        client.set_last_will(self.topics["status"], "offline", retain=True)
        client.on_message = self._on_config
        client.connect(clean_session=True)
        try:
            client.subscribe(self.topics["config"])
            client.publish(self.topics["status"], "online", retain=True)
            waiting = self.outbox.take()
            client.publish(self.topics["up"], payload.encode(waiting))
            self.outbox.delivered(len(waiting))
            client.wait_msg(1.0)  # the retained config arrives right after the subscription
            client.publish(self.topics["status"], "asleep", retain=True)
        finally:
            client.disconnect()
        return True

    def _on_config(self, topic, message):
        try:
            candidate = json.loads(message)
        except ValueError:
            self.log.append("config is not JSON: kept the old one")
            return
        merged, errors = cfg.validate(candidate)
        if errors:
            self.log.append("config refused: " + "; ".join(errors))
            return
        self.config = merged
        self.outbox.limit = merged["max_buffered"]
