"""The benches' local feed servers answer a feed request the same way: the body as UTF-8 RSS,
or 404 when there is none."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def answer_feed(handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
    """Answer `handler`'s request with `body` as RSS, or 404 when it is None."""
    if body is None:
        handler.send_response(404)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
