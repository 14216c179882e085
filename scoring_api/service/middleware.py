"""One ASGI middleware around every request: the body size limit, and the request metrics.

Written against ASGI directly (no per-request objects): it runs on every scoring request. A body announced
larger than the limit is refused with 413 before it is read; a body that grows past the limit while it is read
(no Content-Length) ends the request with 413 too (:class:`BodyTooLargeError`, turned into the response by the
application's handler). Both refusals are recorded as denied accesses.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_api.sinks import AccessEvent, utc_now


class BodyTooLargeError(Exception):
    """The request body grew past the limit while it was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds {limit} bytes; send smaller batches")
        self.limit = limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ServiceMiddleware:
    """Body size limit and metrics (requests, latency by route template and champion model version)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services: Any = scope["app"].state.services
        limit: int = services.settings.max_body_bytes
        started = time.perf_counter()
        status = 500
        length = _content_length(scope)
        if length is not None and length > limit:
            await self._refuse(scope, send, services, limit)
            status = 413
        else:
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLargeError(limit)
                return message

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_status)
            finally:
                self._measure(scope, services, status, started)
            return
        self._measure(scope, services, status, started)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, services: Any, limit: int) -> None:
        body = orjson.dumps({"detail": f"the request body exceeds {limit} bytes; send smaller batches"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        record_too_large(services, scope, limit)

    @staticmethod
    def _measure(scope: Scope, services: Any, status: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        version = (services.deployments.champion_version or "")[:19]
        metrics = services.metrics
        metrics.requests.labels(path, scope["method"], str(status)).inc()
        metrics.latency.labels(path, version).observe(time.perf_counter() - started)


def record_too_large(services: Any, scope: Scope, limit: int) -> None:
    """A refused oversized body, as a denied access."""
    client = scope.get("client")
    services.sink.access(
        AccessEvent(
            at=utc_now(),
            granted=False,
            status=413,
            method=scope["method"],
            path=scope["path"],
            origin=None if client is None else client[0],
            reason=f"request body over {limit} bytes",
        )
    )
