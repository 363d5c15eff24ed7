# Readings not yet delivered: bounded, oldest dropped first, kept in a file across deep sleep.

import json


class Outbox:
    def __init__(self, path, limit):
        self.path = path
        self.limit = limit
        self.items = []
        self.dropped = 0
        try:
            with open(path) as handle:
                saved = json.loads(handle.read())
            self.items = saved.get("items", [])[-limit:]
            self.dropped = saved.get("dropped", 0)
        except (OSError, ValueError):
            pass  # first boot, or a torn write: start empty rather than not at all

    def add(self, reading):
        self.items.append(reading)
        if len(self.items) > self.limit:
            self.dropped += len(self.items) - self.limit
            self.items = self.items[-self.limit:]

    def take(self):
        """Everything waiting, oldest first; cleared only by `delivered`."""
        return list(self.items)

    def delivered(self, count):
        self.items = self.items[count:]

    def save(self):
        with open(self.path, "w") as handle:
            handle.write(json.dumps({"items": self.items, "dropped": self.dropped}))
