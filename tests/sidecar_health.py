"""A stand-in for the one URL of the Dapr sidecar our health probes read
(`/v1.0/healthz/outbound`), and a port where nothing listens. No Dapr API behind it."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def closed_port() -> int:
    """A local TCP port nothing listens on (bound once to pick it, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HealthEndpoint:
    """A local HTTP server that answers `GET /v1.0/healthz/outbound` with `status` and
    records the request headers. Only the health URL our probes read: no Dapr API."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.headers: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.headers.append({k.lower(): v for k, v in self.headers.items()})
                found = self.path == "/v1.0/healthz/outbound"
                self.send_response(endpoint.status if found else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HealthEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
