# Battery-life estimate for a schedule, from the duty cycle: awake time and current per phase.
# Currents are typical datasheet figures for an ESP32-WROOM-32 board with a switched sensor rail.

PHASES = {
    # name: (seconds per occurrence, milliamps)
    "check": (1.5, 45.0),  # boot from deep sleep, 7 pings, a DS18B20 conversion (750 ms), back to sleep
    "report": (3.0, 130.0),  # Wi-Fi association with DHCP, MQTT connect, publish, config, disconnect
}
SLEEP_MA = 0.02  # deep sleep with the regulator's quiescent current
CHECK_S = 300
CAPACITY_MAH = {"2 x 18650 Li-ion (2 x 3000 mAh)": 6000, "Li-SOCl2 D cell (19 Ah)": 19000}
USABLE = 0.8  # self-discharge, cold, and the voltage cut-off leave about 80 % usable


def mah_per_day(report_interval_s, check_s=CHECK_S):
    checks = 86400 / check_s
    reports = 86400 / report_interval_s
    awake_s = checks * PHASES["check"][0] + reports * PHASES["report"][0]
    mas = checks * PHASES["check"][0] * PHASES["check"][1] + reports * PHASES["report"][0] * PHASES["report"][1]
    mas += (86400 - awake_s) * SLEEP_MA
    return mas / 3600


def days(capacity_mah, report_interval_s, check_s=CHECK_S):
    return capacity_mah * USABLE / mah_per_day(report_interval_s, check_s)
