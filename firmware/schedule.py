# When to report next, and what must be reported at once. Pure functions over plain values.


def interval_s(config, level, previous_level, hours_since_previous):
    """Seconds until the next report: rarely when nearly empty and stable, often when filling."""
    if level >= config["threshold"]:
        return config["report_busy_s"]
    rate_per_h = 0.0
    if previous_level is not None and hours_since_previous > 0:
        rate_per_h = (level - previous_level) / hours_since_previous
    # at this rate the threshold comes within two normal intervals: watch it closely
    if rate_per_h > 0 and (config["threshold"] - level) / rate_per_h * 3600 < 2 * config["report_normal_s"]:
        return config["report_busy_s"]
    if level < 0.2 and abs(rate_per_h) < 0.01:
        return config["report_empty_s"]
    return config["report_normal_s"]


def urgent(config, temperature_c, previous_temperature_c, tilt):
    """Reasons to report now rather than at the next scheduled time."""
    reasons = []
    if temperature_c is not None and temperature_c >= config["fire_temperature_c"]:
        reasons.append("fire_temperature")
    elif (
        temperature_c is not None
        and previous_temperature_c is not None
        and temperature_c - previous_temperature_c >= config["fire_rise_c"]
    ):
        reasons.append("fire_rise")
    if tilt is not None and tilt >= config["tilt_deg"]:
        reasons.append("tilted")
    return reasons


def backoff_s(attempt, base_s=2, cap_s=60):
    """Seconds to wait before retry `attempt` (1, 2, ...): doubling, capped; callers stop at max_attempts."""
    return min(cap_s, base_s * (2 ** (attempt - 1)))
