# The hardware of an ESP32 bin sensor: JSN-SR04T (trigger/echo) or VL53L1X, DS18B20, an
# accelerometer (MPU-6050 style over I2C), battery behind a 1:2 divider. Only this file touches
# `machine`; device.py and the rest are plain logic.

import time

import machine
import network

EPOCH_2000 = 946684800  # MicroPython ports whose time counts from 2000 need this to reach Unix time


class Hal:
    def __init__(self, wifi_ssid, wifi_password, trig=5, echo=18, onewire=4, adc=34, sda=21, scl=22):
        self.ssid, self.wifi_password = wifi_ssid, wifi_password
        self.trig = machine.Pin(trig, machine.Pin.OUT)
        self.echo = machine.Pin(echo, machine.Pin.IN)
        self.adc = machine.ADC(machine.Pin(adc))
        self.adc.atten(machine.ADC.ATTN_11DB)
        self.i2c = machine.I2C(0, sda=machine.Pin(sda), scl=machine.Pin(scl))
        self.onewire = onewire
        self.wlan = network.WLAN(network.STA_IF)

    def now(self):
        t = time.time()
        return t + EPOCH_2000 if time.gmtime(0)[0] == 2000 else t

    def echo_us_samples(self, n):
        samples = []
        for _ in range(n):
            self.trig.value(0)
            time.sleep_us(5)
            self.trig.value(1)
            time.sleep_us(20)  # JSN-SR04T wants a longer trigger than HC-SR04's 10 us
            self.trig.value(0)
            samples.append(machine.time_pulse_us(self.echo, 1, 40000))
            time.sleep_ms(60)  # let the last echo die away
        return [s for s in samples if s > 0]

    def tof_mm_samples(self, n):
        import vl53l1x  # a community driver module copied beside the firmware (see the README)

        sensor = vl53l1x.VL53L1X(self.i2c)
        return [sensor.read() for _ in range(n)]

    def temperature_c(self):
        import ds18x20
        import onewire

        sensor = ds18x20.DS18X20(onewire.OneWire(machine.Pin(self.onewire)))
        roms = sensor.scan()
        if not roms:
            return None
        sensor.convert_temp()
        time.sleep_ms(750)
        return sensor.read_temp(roms[0])

    def accel(self):
        self.i2c.writeto_mem(0x68, 0x6B, b"\x00")  # wake the MPU-6050
        raw = self.i2c.readfrom_mem(0x68, 0x3B, 6)

        def axis(i):
            value = raw[i] << 8 | raw[i + 1]
            return value - 65536 if value > 32767 else value

        return axis(0), axis(2), axis(4)

    def battery_v(self):
        return sum(self.adc.read() for _ in range(8)) / 8 * 3.3 / 4095 * 2

    def rssi(self):
        return self.wlan.status("rssi") if self.wlan.isconnected() else None

    def connect_wifi(self, timeout_s):
        self.wlan.active(True)
        if not self.wlan.isconnected():
            self.wlan.connect(self.ssid, self.wifi_password)
            deadline = time.ticks_add(time.ticks_ms(), timeout_s * 1000)
            while not self.wlan.isconnected() and time.ticks_diff(deadline, time.ticks_ms()) > 0:
                time.sleep_ms(100)
        return self.wlan.isconnected()

    def sleep(self, seconds):
        time.sleep(seconds)

    def deepsleep(self, seconds):
        self.wlan.active(False)
        machine.deepsleep(int(seconds * 1000))
