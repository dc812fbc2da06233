"""The metrics port (``MEMBERGRAPH_METRICS_PORT``): ``/metrics`` without credentials, on a
port of its own, served by prometheus_client's WSGI server on a thread.

In demo mode (no credentials) it answers only requests naming this machine's loopback as
their host, as the main port does (:mod:`membergraph.auth`): a page of another site whose
DNS name is pointed at 127.0.0.1 (DNS rebinding) would read it too otherwise.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson
from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from membergraph.auth import DEMO_FOREIGN_HOST, loopback_host

__all__ = ["serve_metrics"]

_App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _loopback_only(app: _App) -> _App:
    """``app``, refusing (403) a request whose ``Host`` names another machine."""
    refusal = orjson.dumps({"error": DEMO_FOREIGN_HOST})

    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host is not None and not loopback_host(host):
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(refusal)))]
            start_response("403 Forbidden", headers)
            return [refusal]
        return app(environ, start_response)

    return checked


def serve_metrics(
    host: str, port: int, registry: Collector, loopback_only: bool
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``registry`` on ``host:port`` (a daemon thread); ``loopback_only``: demo mode.

    Raises:
        OSError: the port could not be bound.
    """
    app = make_wsgi_app(registry)
    if loopback_only:
        app = _loopback_only(app)

    class Server(ThreadingWSGIServer):
        # The family of the address (``::1`` is IPv6), as prometheus_client picks it.
        address_family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    server = make_server(host, port, app, Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="metrics-port", daemon=True)
    thread.start()
    return server, thread


class _Quiet(WSGIRequestHandler):
    """No line on stderr per scrape (the access log is the gateway's, not this server's)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass
