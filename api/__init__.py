"""The HTTP API (FastAPI): dispatchers, drivers and other municipal systems use the platform here."""
