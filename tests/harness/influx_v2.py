"""Serves InfluxDB's v2 write API in front of a 1.x server, translated as InfluxDB 1.8 does.

InfluxDB 1.8 answers `/api/v2/write?bucket=db/rp&precision=…` by writing to database `db` and
retention policy `rp` (the default one when the bucket has no `/rp`), ignores `org`, and takes
`Authorization: Token user:password`. Everything else is passed through unchanged.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx


class InfluxV2Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.writes = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.handle(self, "POST")

            def do_GET(self) -> None:
                proxy.handle(self, "GET")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> InfluxV2Proxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        path, query = url.path, url.query
        if path == "/api/v2/write":
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            database, _, rp = params.get("bucket", "").partition("/")
            v1 = {"db": database, "precision": params.get("precision", "ns")} | ({"rp": rp} if rp else {})
            path, query = "/write", urlencode(v1)
            self.writes += 1
        upstream = httpx.request(method, f"{self.upstream}{path}?{query}", content=body, timeout=30)
        status, content = upstream.status_code, upstream.content
        if path == "/write" and status >= 400:
            message = upstream.json().get("error", upstream.text) if upstream.content else ""
            content = json.dumps(
                {"code": "invalid" if status == 400 else "internal error", "message": message}
            )
            content = content.encode()  # v2 error body
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)
