"""One ASGI middleware around every request: the recording scope, the body size limit, and the request metrics.

Written against ASGI directly (no per-request objects): it runs on every scoring request. Each request runs in
a :mod:`recording scope <scoring_api.recording.scope>`: the audit records it causes (its access, its decisions,
the changes it makes) are committed in groups with other requests' by the audit writer, and the response is
held until they are; when they cannot be, the response becomes a 503 saying so (fail closed: nothing is
answered that is not on record). A body announced larger than the limit is refused with 413 before it is read; a
body that grows past the limit while it is read (no Content-Length) ends the request with 413 too
(:class:`BodyTooLargeError`, turned into the response by the application's handler). Both refusals are recorded
as denied accesses.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_api.recording.scope import RecordingScope, recording_scope
from scoring_api.sinks import AccessEvent, utc_now

logger = logging.getLogger(__name__)

#: How long a response waits for its audit records before it is refused.
COMMIT_TIMEOUT_S: Final = 30.0
_UNRECORDED: Final = (
    "the request's audit record could not be written ({error}), so it is not answered; the service keeps the "
    "record and writes it once the audit trail is back: retry later (a transaction already scored gets its "
    "recorded decision)"
)


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
        with recording_scope() as recording:
            try:
                await self._handle(scope, receive, send, services, recording)
            finally:
                await _settle(recording, services)  # records made after the answer started (streamed bodies)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, services: Any, recording: RecordingScope
    ) -> None:
        limit: int = services.settings.max_body_bytes
        started = time.perf_counter()
        status = 500
        withheld = False

        async def send_recorded(message: Message) -> None:
            nonlocal status, withheld
            if message["type"] == "http.response.start":
                problem = await _committed(recording, services)
                if problem is not None:
                    withheld, status = True, 503
                    await _send_json(send, 503, {"detail": problem})
                    return
                status = message["status"]
            elif withheld:
                return  # the answer that was not recorded is never sent
            await send(message)

        length = _content_length(scope)
        if length is not None and length > limit:
            record_too_large(services, scope, limit)
            await _send_json(
                send_recorded, 413, {"detail": f"the request body exceeds {limit} bytes; send smaller batches"}
            )
            self._measure(scope, services, status, started)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        try:
            await self.app(scope, limited_receive, send_recorded)
        finally:
            self._measure(scope, services, status, started)

    @staticmethod
    def _measure(scope: Scope, services: Any, status: int, started: float) -> None:
        path = route_template(scope) or "unmatched"
        version = (services.deployments.champion_version or "")[:19]
        metrics = services.metrics
        metrics.request_count(path, scope["method"], str(status)).inc()
        metrics.latency_of(path, version).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str | None:
    """The matched route's path template with the prefix it was included under (``/v1/monitoring/alerts/{alert_id}``),
    None when no route matched. Newer FastAPI keeps an included router whole: its routes' own paths then lack the
    include prefix, which the scope names with the router the request went through."""
    route = scope.get("route")
    if getattr(route, "path", None) is None:
        return None
    path = str(route.path)  # type: ignore[union-attr]
    included = scope.get("fastapi", {}).get("included_router")
    prefix = str(getattr(getattr(included, "include_context", None), "prefix", "") or "")
    return path if path.startswith(prefix) else prefix + path


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


async def _send_json(send: Send, status: int, document: dict[str, Any]) -> None:
    body = orjson.dumps(document)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _committed(recording: RecordingScope, services: Any) -> str | None:
    """Wait for the request's audit records; None once committed, else why the answer must be withheld."""
    if not recording.pending:
        return None
    try:
        await recording.committed(COMMIT_TIMEOUT_S)
    except Exception as error:  # the answer becomes a 503 naming the failure (never the records' content)
        services.metrics.errors.labels("audit").inc()
        logger.error("an answer was withheld: its audit records were not committed (%s)", type(error).__name__)
        return _UNRECORDED.format(error=type(error).__name__)
    return None


async def _settle(recording: RecordingScope, services: Any) -> None:
    """Wait for records made after the response started; a failure is logged and counted (the recorder keeps
    the events and submits them again)."""
    if recording.pending:
        await _committed(recording, services)
