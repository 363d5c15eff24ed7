# Readings in message contract v1 (see the README): one JSON object per reading.

import json


def reading(ts, seq, distance_mm, level, temperature_c, battery, tilt, rssi, fw_version):
    out = {"ts": int(ts), "seq": seq, "fillingLevel": round(level, 3), "fw_version": fw_version}
    if distance_mm is not None:
        out["distance_mm"] = int(round(distance_mm))
    if temperature_c is not None:
        out["temperature"] = round(temperature_c, 1)
    if battery is not None:
        out["battery_v"] = round(battery, 3)
    if tilt is not None:
        out["tilt_deg"] = round(tilt, 1)
    if rssi is not None:
        out["rssi_dbm"] = int(rssi)
    return out


def encode(readings):
    """One reading as an object; several (a device back from offline) as an array."""
    return json.dumps(readings[0] if len(readings) == 1 else readings)


def topics(tenant, device_id):
    base = "tomning/%s/devices/%s/" % (tenant, device_id)
    return {"up": base + "up", "config": base + "config", "status": base + "status"}
