"""Real services for tests: Mosquitto, InfluxDB and PostgreSQL on free loopback ports."""
