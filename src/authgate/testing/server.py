"""The issuer's HTTP side: discovery and the JWKS on 127.0.0.1, in a thread."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Gives, per request, each path and the JSON document served there.
Routes = Callable[[], dict[str, Any]]


class LoopbackServer:
    """Serves JSON documents on an ephemeral port of 127.0.0.1.

    ``down`` makes every answer a 503 (an issuer outage), ``delay`` holds
    each answer back that many seconds (a slow issuer), and ``hits`` counts
    requests per path.
    """

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.down = False
        self.delay = 0.0
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] += 1
                if server.delay:
                    time.sleep(server.delay)  # simulates a slow issuer, by request
                documents = server.routes()
                if server.down:
                    self._send(503, {"error": "temporarily_unavailable"})
                elif self.path in documents:
                    self._send(200, documents[self.path])
                else:
                    self._send(404, {"error": "not_found"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
