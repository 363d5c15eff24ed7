"""The ingest service: MQTT uplinks → validated readings in the time-series store, nothing lost."""
