"""A fake of the few Grafana HTTP API calls `tomning dashboards push` makes.

No Grafana server can be installed on our machines (no registry we reach ships one), so the push
is tested against this: it keeps folders, data sources and dashboards by uid, counts versions, and
answers 404 and 409 as Grafana does.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGrafana:
    def __init__(self, token: str) -> None:
        self.token = token
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.serve(self, "GET")

            def do_POST(self) -> None:
                fake.serve(self, "POST")

            def do_PUT(self) -> None:
                fake.serve(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(request, 401, {"message": "Unauthorized"})
        body = json.loads(request.rfile.read(int(request.headers.get("Content-Length") or 0)) or b"null")
        path = request.path.split("?")[0]
        status, answer = self.route(method, path, body)
        self._send(request, status, answer)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if match := re.fullmatch(r"/api/folders/([\w-]+)", path):
            folder = self.folders.get(match[1])
            return (200, folder) if folder else (404, {"message": "folder not found"})
        if path == "/api/folders" and method == "POST":
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
            return 200, self.folders[body["uid"]]
        if match := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path):
            if match[1] not in self.datasources:
                return 404, {"message": "Data source not found"}
            if method == "PUT":
                self.datasources[match[1]] = body
            return 200, self.datasources[match[1]]
        if path == "/api/datasources" and method == "POST":
            if body["uid"] in self.datasources:
                return 409, {"message": "data source with the same uid already exists"}
            self.datasources[body["uid"]] = body
            return 200, {"datasource": body}
        if path == "/api/dashboards/db" and method == "POST":
            uid = body["dashboard"]["uid"]
            if uid in self.dashboards and not body.get("overwrite"):
                return 412, {"message": "The dashboard has been changed by someone else"}
            version = self.dashboards.get(uid, {}).get("version", 0) + 1
            self.dashboards[uid] = {
                "dashboard": body["dashboard"],
                "folderUid": body["folderUid"],
                "version": version,
            }
            return 200, {"uid": uid, "version": version, "status": "success"}
        return 404, {"message": f"no route for {method} {path}"}

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
