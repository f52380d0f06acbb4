"""A tiny static server for the coffee shop frontend (standard library only).

Serves index.html at `/` and at `/callback` (the OAuth redirect URI), the ES
modules and stylesheet beside it, and `/config.json` telling the page where
authgate and the API are — so the same files work on any ports.

    python examples/coffee_shop/frontend/server.py --port 5000 \
        --issuer http://127.0.0.1:8000 --api http://127.0.0.1:5001
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FILES = {"/": "index.html", "/index.html": "index.html", "/callback": "index.html",
         "/app.js": "app.js", "/oidc.js": "oidc.js", "/styles.css": "styles.css"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}


class FrontendHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, config: dict[str, str], **kwargs: Any) -> None:
        self.config = config
        super().__init__(*args, directory=str(HERE), **kwargs)

    def do_GET(self) -> None:  # the name is http.server's
        path = self.path.split("?", 1)[0]
        if path == "/config.json":
            return self._send(json.dumps(self.config).encode(), "application/json")
        name = FILES.get(path)
        if name is None:
            return self._send(b"not found", "text/plain; charset=utf-8", status=404)
        return self._send((HERE / name).read_bytes(), TYPES[Path(name).suffix])

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", (
            f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {self.config['issuer']} {self.config['api']}; "
            "frame-ancestors 'none'; base-uri 'none'"))
        self.send_header("Referrer-Policy", "no-referrer")  # the callback URL carries the code
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(port: int, *, issuer: str, api: str, client_id: str = "coffee-spa",
                audience: str = "https://coffee.example/api", host: str = "127.0.0.1") -> ThreadingHTTPServer:
    config = {"issuer": issuer.rstrip("/"), "api": api.rstrip("/"), "client_id": client_id, "audience": audience}
    return ThreadingHTTPServer((host, port), partial(FrontendHandler, config=config))


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--issuer", default="http://127.0.0.1:8000")
    parser.add_argument("--api", default="http://127.0.0.1:5001")
    parser.add_argument("--client-id", default="coffee-spa")
    arguments = parser.parse_args()
    server = make_server(arguments.port, issuer=arguments.issuer, api=arguments.api, client_id=arguments.client_id)
    print(f"coffee shop frontend on http://127.0.0.1:{arguments.port}")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
