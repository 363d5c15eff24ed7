# Turning raw sensor samples into a distance, a filling level and a tilt. Pure functions.

import math

# JSN-SR04T / HC-SR04 cannot see closer than about 20-25 cm: an echo from nearer is not trusted.
ULTRASONIC_MIN_MM = 220
ULTRASONIC_MAX_MM = 6000


def speed_of_sound_m_s(temperature_c):
    """In dry air: 331.3 m/s at 0 degC, +0.606 m/s per degree."""
    return 331.3 + 0.606 * temperature_c


def echo_to_mm(echo_us, temperature_c):
    """One ultrasonic echo (round trip, microseconds) as a distance in millimetres."""
    return echo_us * speed_of_sound_m_s(temperature_c) / 2000.0


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_distance(samples_mm, low_mm=0, high_mm=ULTRASONIC_MAX_MM):
    """Median of the samples within range, after dropping those far from the first median.

    None when fewer than half the samples survive: better no reading than a wrong one.
    """
    usable = [s for s in samples_mm if s is not None and low_mm <= s <= high_mm]
    if len(usable) * 2 < len(samples_mm) or not usable:
        return None
    first = median(usable)
    spread = median([abs(s - first) for s in usable]) or 1.0
    kept = [s for s in usable if abs(s - first) <= 3 * spread + 20]  # 20 mm: echo jitter floor
    return median(kept) if len(kept) * 2 >= len(usable) else None


def filling_level(distance_mm, empty_mm, full_mm):
    """(empty - distance) / (empty - full), clamped to 0..1."""
    level = (empty_mm - distance_mm) / float(empty_mm - full_mm)
    return min(1.0, max(0.0, level))


def tilt_deg(ax, ay, az):
    """Angle between the accelerometer's z axis and gravity, in degrees."""
    norm = math.sqrt(ax * ax + ay * ay + az * az)
    if norm == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, az / norm))))


def battery_v(raw, full_scale_raw=4095, reference_v=3.3, divider=2.0):
    """An ADC reading behind a resistor divider as volts."""
    return raw * reference_v / full_scale_raw * divider
