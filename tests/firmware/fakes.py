# A fake of hal_esp32.Hal for tests, on CPython and MicroPython alike.


class FakeHal:
    def __init__(self, echo_us=None, temperature=20.0, accel=(0, 0, 16384), battery=3.9, wifi=True, clock=None):
        # a fixed instant for the pure logic; a test whose readings reach ingest passes the real clock,
        # or they would age past what ingest takes (the date bomb of 2026-11-23)
        self.clock = 1795400000 if clock is None else clock
        self.echo_us = echo_us if echo_us is not None else [5800] * 7  # about 1 m at 20 degC
        self.tof_mm = [1000] * 7
        self.temperature = temperature
        self.acceleration = accel
        self.battery = battery
        self.wifi = wifi
        self.slept = []

    def now(self):
        return self.clock

    def echo_us_samples(self, n):
        return self.echo_us[:n]

    def tof_mm_samples(self, n):
        return self.tof_mm[:n]

    def temperature_c(self):
        return self.temperature

    def accel(self):
        return self.acceleration

    def battery_v(self):
        return self.battery

    def rssi(self):
        return -67

    def connect_wifi(self, timeout_s):
        return self.wifi

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.clock += seconds
