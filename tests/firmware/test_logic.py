# The firmware's logic. Plain asserts, no pytest: run_micropython.mjs runs this same file under
# real MicroPython (WebAssembly), so code CPython accepts and MicroPython rejects fails CI.

import json

try:
    import tempfile

    TMP = tempfile.mkdtemp()
except ImportError:  # MicroPython
    TMP = "/tmp"

import config
import measure
import payload
import schedule
from device import CHECK_S, Device, Identity
from outbox import Outbox

try:
    from tests.firmware.fakes import FakeHal
except ImportError:  # MicroPython: the runner puts fakes.py beside the firmware
    from fakes import FakeHal


def close(a, b, tolerance=0.5):
    return abs(a - b) <= tolerance


def test_speed_of_sound_follows_temperature():
    assert close(measure.speed_of_sound_m_s(0), 331.3, 0.01)
    assert close(measure.speed_of_sound_m_s(20), 343.42, 0.01)
    # the same echo is a longer distance in warm air: 1.8 % between 0 and 30 degC
    assert measure.echo_to_mm(5830, 30) > measure.echo_to_mm(5830, 0) * 1.05


def test_median_of_pings_rejects_outliers():
    assert measure.robust_distance([1000, 1002, 998, 4000, 1001, 999, 120]) == 1000
    assert measure.robust_distance([1000, 1010, 990]) == 1000


def test_too_close_or_too_few_echoes_give_no_distance():
    assert measure.robust_distance([150, 160, 170], low_mm=measure.ULTRASONIC_MIN_MM) is None
    assert measure.robust_distance([1000, None, None, None]) is None


def test_filling_level_is_clamped():
    assert measure.filling_level(1800, 1800, 250) == 0.0
    assert measure.filling_level(100, 1800, 250) == 1.0
    assert close(measure.filling_level(1025, 1800, 250), 0.5, 0.001)


def test_tilt_from_the_accelerometer():
    assert close(measure.tilt_deg(0, 0, 16384), 0.0)
    assert close(measure.tilt_deg(16384, 0, 0), 90.0)
    assert close(measure.tilt_deg(0, 16384, 16384), 45.0)


def test_valid_config_is_merged_with_defaults():
    merged, errors = config.validate({"report_busy_s": 600, "threshold": 0.9, "sensor": "vl53l1x"})
    assert errors == []
    assert merged["report_busy_s"] == 600
    assert merged["pings"] == config.DEFAULTS["pings"]


def test_invalid_config_is_refused_whole():
    for bad in ({"threshold": 2}, {"pings": "7"}, {"colour": 1}, {"full_distance_mm": 1900},
                {"report_busy_s": 7200, "report_normal_s": 3600}, [1], {"pings": True}, {"pings": 7.5}):
        merged, errors = config.validate(bad)
        assert merged is None and errors, bad


def test_schedule_adapts_to_fill_and_rate():
    c = config.DEFAULTS
    assert schedule.interval_s(c, 0.05, 0.05, 4) == c["report_empty_s"]
    assert schedule.interval_s(c, 0.5, 0.45, 1) == c["report_normal_s"]
    assert schedule.interval_s(c, 0.7, 0.5, 1) == c["report_busy_s"]  # 20 points an hour
    assert schedule.interval_s(c, 0.85, 0.84, 1) == c["report_busy_s"]


def test_fire_and_tilt_are_urgent():
    c = config.DEFAULTS
    assert schedule.urgent(c, 60.0, 20.0, 1.0) == ["fire_temperature"]
    assert schedule.urgent(c, 40.0, 20.0, 1.0) == ["fire_rise"]
    assert schedule.urgent(c, 20.0, 19.0, 80.0) == ["tilted"]
    assert schedule.urgent(c, 20.0, 19.0, 2.0) == []


def test_backoff_doubles_and_is_capped():
    assert [schedule.backoff_s(a) for a in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_outbox_is_bounded_and_survives_a_restart():
    path = TMP + "/outbox.json"
    box = Outbox(path, 3)
    for seq in range(5):
        box.add({"seq": seq})
    box.save()
    again = Outbox(path, 3)
    assert [r["seq"] for r in again.take()] == [2, 3, 4]
    assert again.dropped == 2
    again.delivered(2)
    assert [r["seq"] for r in again.take()] == [4]


def test_payload_follows_the_contract():
    one = payload.reading(1795400000, 7, 1024.6, 0.5004, 21.04, 3.9123, 2.04, -67, "1.0.0")
    assert one == {"ts": 1795400000, "seq": 7, "fillingLevel": 0.5, "fw_version": "1.0.0", "distance_mm": 1025,
                   "temperature": 21.0, "battery_v": 3.912, "tilt_deg": 2.0, "rssi_dbm": -67}
    assert json.loads(payload.encode([one])) == one
    assert json.loads(payload.encode([one, one])) == [one, one]
    assert payload.topics("kalmar", "s-1")["up"] == "tomning/kalmar/devices/s-1/up"


def device(hal, name):
    return Device(hal, Identity("kalmar", "s-1", "pw", "127.0.0.1", 9), TMP + "/" + name + ".json",
                  TMP + "/" + name + "-outbox.json")


def test_without_network_readings_wait_in_the_outbox_and_retries_are_bounded():
    hal = FakeHal(wifi=False)
    sensor = device(hal, "offline")
    assert sensor.cycle() == CHECK_S
    assert len(sensor.outbox.items) == 1
    assert hal.slept == [2, 4, 8, 16]  # five attempts, four waits: never forever
    hal.clock += CHECK_S
    sensor.cycle()
    assert [r["seq"] for r in device(hal, "offline").outbox.items] == [1, 2]  # kept across deep sleep


def test_a_fire_is_reported_before_the_schedule_says_so():
    hal = FakeHal(wifi=False)
    sensor = device(hal, "fire")
    sensor.cycle()
    hal.clock += 60
    sensor.config["max_attempts"] = 1
    assert len(sensor.outbox.items) == 1
    sensor.cycle()  # nothing due, nothing urgent: no new reading
    assert len(sensor.outbox.items) == 1
    hal.temperature = 75.0
    hal.clock += 60
    sensor.cycle()
    assert len(sensor.outbox.items) == 2
    assert sensor.outbox.items[-1]["temperature"] == 75.0


def test_battery_life_estimate_matches_the_readme():
    import power

    assert round(power.mah_per_day(3600), 1) == 8.5  # the README's default-schedule figure
    assert round(power.days(19000, 3600) / 365, 1) == 4.9
    assert round(power.days(6000, 3600) / 365, 1) == 1.6
    # checking for fire every 5 minutes costs more than the hourly report itself
    assert power.mah_per_day(3600, 900) < power.mah_per_day(3600, 300) / 1.5
