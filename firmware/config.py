# Device configuration: defaults, and validation of the retained config the platform publishes.
# MicroPython and CPython: no typing at run time, no dataclasses.

DEFAULTS = {
    "sensor": "ultrasonic",  # or "vl53l1x"
    "empty_distance_mm": 1800,
    "full_distance_mm": 250,
    "pings": 7,
    "report_empty_s": 4 * 3600,  # a nearly empty, stable bin reports rarely
    "report_normal_s": 3600,
    "report_busy_s": 900,  # filling fast, or past its threshold
    "threshold": 0.8,
    "fire_temperature_c": 57.0,
    "fire_rise_c": 15.0,
    "tilt_deg": 45.0,
    "max_buffered": 96,
    "max_attempts": 5,
}

# name: (type, lowest, highest)
LIMITS = {
    "empty_distance_mm": (int, 300, 10000),
    "full_distance_mm": (int, 0, 9000),
    "pings": (int, 3, 31),
    "report_empty_s": (int, 300, 86400),
    "report_normal_s": (int, 300, 86400),
    "report_busy_s": (int, 60, 86400),
    "threshold": (float, 0.1, 1.0),
    "fire_temperature_c": (float, 30.0, 120.0),
    "fire_rise_c": (float, 2.0, 60.0),
    "tilt_deg": (float, 10.0, 90.0),
    "max_buffered": (int, 1, 1000),
    "max_attempts": (int, 1, 20),
}
SENSORS = ("ultrasonic", "vl53l1x")


def validate(candidate):
    """(config, errors): the defaults overlaid with `candidate`, or the errors that refuse it."""
    errors = []
    if not isinstance(candidate, dict):
        return None, ["config must be a JSON object"]
    merged = dict(DEFAULTS)
    for name, value in candidate.items():
        if name == "sensor":
            if value not in SENSORS:
                errors.append("sensor must be one of " + ", ".join(SENSORS))
            merged[name] = value
            continue
        if name not in LIMITS:
            errors.append("unknown setting " + name)
            continue
        kind, low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(name + " must be a number")
            continue
        if kind is int and value != int(value):
            errors.append(name + " must be a whole number")
            continue
        if not low <= value <= high:
            errors.append("%s must be within %s..%s" % (name, low, high))
            continue
        merged[name] = kind(value)
    if not errors and merged["full_distance_mm"] >= merged["empty_distance_mm"]:
        errors.append("full_distance_mm must be below empty_distance_mm")
    if not errors and not merged["report_busy_s"] <= merged["report_normal_s"] <= merged["report_empty_s"]:
        errors.append("report intervals must grow: busy <= normal <= empty")
    return (None, errors) if errors else (merged, [])
