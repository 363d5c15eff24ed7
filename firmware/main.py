# Runs at every wake-up from deep sleep: one cycle, then deep sleep again.
# secrets.py (not in the repository) holds WIFI_SSID, WIFI_PASSWORD, TENANT, DEVICE_ID,
# DEVICE_PASSWORD, BROKER_HOST, BROKER_PORT and BROKER_TLS: `tomning devices provision` prints it.

import device
import hal_esp32
import secrets

hal = hal_esp32.Hal(secrets.WIFI_SSID, secrets.WIFI_PASSWORD)
identity = device.Identity(secrets.TENANT, secrets.DEVICE_ID, secrets.DEVICE_PASSWORD,
                           secrets.BROKER_HOST, secrets.BROKER_PORT, secrets.BROKER_TLS)
sensor = device.Device(hal, identity, "/state.json", "/outbox.json")
try:
    seconds = sensor.cycle()
except Exception as exc:  # never stay awake on a bug: sleep and try again next time
    print("cycle failed:", exc)
    seconds = device.CHECK_S
hal.deepsleep(seconds)
