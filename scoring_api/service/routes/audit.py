"""``/v1/audit``: the audit trail for compliance officers (role ``compliance`` only: admins change what the
trail records, so they do not also read it out).

* ``GET /v1/audit/verify``: the whole chain checked (archive segments, main store, signed head), and where it
  was altered if it was;
* ``GET /v1/audit/records``: a time range and filters, streamed as JSON lines or CSV (millions of records never
  sit in memory): for reading and searching;
* ``GET /v1/audit/bundle``: the same selection as a signed bundle (records in JSON lines, CSV and/or Parquet,
  ``manifest.json`` and its Ed25519 signature ``manifest.sig``) in one ``.tar.gz`` download: what an examiner
  receives, and checks on their own with ``fraud audit verify-bundle`` and the public key
  (``GET /v1/audit/public-key``, or better given by another channel);
* ``GET /v1/audit/decisions/{decision_id}`` and ``.../replay``: a recorded decision, and its replay (the
  recorded input re-scored by the recorded model and decided by the recorded configuration).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from monitoring.audit.errors import UnknownRecordError
from monitoring.audit.export import export_bundle, export_stream
from monitoring.audit.filters import AuditFilter
from monitoring.audit.formats import parse_formats
from monitoring.audit.log import AuditLog
from scoring_api.recording.replay import Replayer
from scoring_api.service.deps import ComplianceKey, ServicesDep, actor_of
from scoring_api.service.schemas import Problem, Responses

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_READ: Responses = {401: {"model": Problem}, 403: {"model": Problem}}
_FILTERED: Responses = {**_READ, 422: {"model": Problem, "description": "a bad range, kind or format"}}
_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}

Since = Annotated[datetime | None, Query(description="from this recorded time (ISO 8601; UTC when no zone)")]
Until = Annotated[datetime | None, Query(description="up to, not including, this recorded time")]
Kinds = Annotated[list[str] | None, Query(alias="kind", description="only these event kinds (repeatable)")]
Actor = Annotated[str | None, Query(max_length=200, description="only records by this actor or API key id")]
Subject = Annotated[str | None, Query(max_length=200, description="a decision id, model content id, alert id...")]
CardToken = Annotated[str | None, Query(max_length=64, description="only decisions on this card token")]
DecisionId = Annotated[str, PathParam(min_length=1, max_length=64)]


def _log(services: ServicesDep) -> AuditLog:
    if services.audit is None:
        raise HTTPException(404, "this service records no audit trail (FRAUD_SCORING_AUDIT=false)")
    return services.audit.log


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def audit_filter(
    since: Since = None,
    until: Until = None,
    kinds: Kinds = None,
    actor: Actor = None,
    subject: Subject = None,
    card_token: CardToken = None,
) -> AuditFilter:
    """The records asked for: a range of recorded time and filters (a bad kind or range is a 422)."""
    return AuditFilter(
        since=_utc(since), until=_utc(until), kinds=tuple(kinds or ()), actor=actor, subject=subject,
        card_token=card_token,
    )  # fmt: skip


Where = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/verify", responses=_READ, summary="Verify the audit trail")
def verify_audit_trail(services: ServicesDep, key: ComplianceKey) -> dict[str, Any]:
    """Check every record's hash and link, the archive segments and the signed head; ``ok`` is false and
    ``findings`` say where when anything was edited, deleted, inserted, reordered or cut off."""
    return _log(services).verify().to_dict()


@router.get(
    "/records",
    responses={**_FILTERED, 200: {"content": {m: {} for m in _MEDIA.values()}, "description": "the records"}},
    response_class=StreamingResponse,
    summary="Stream audit records",
)
def stream_audit_records(
    services: ServicesDep,
    key: ComplianceKey,
    where: Where,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> StreamingResponse:
    """The records of a range and filters, oldest first, every stored column (each record still recomputes to
    its hash), streamed."""
    return StreamingResponse(export_stream(_log(services), where, format), media_type=_MEDIA[format])


@router.get(
    "/bundle",
    responses={**_FILTERED, 200: {"content": {"application/gzip": {}}, "description": "the signed bundle"}},
    response_class=FileResponse,
    summary="Download a signed export bundle",
)
def download_audit_bundle(
    services: ServicesDep,
    key: ComplianceKey,
    where: Where,
    formats: Annotated[
        str, Query(max_length=40, description="comma-separated: jsonl, csv, parquet")
    ] = "jsonl,csv,parquet",
) -> FileResponse:
    """The selection as a signed bundle in a ``.tar.gz``: it verifies without the database
    (``fraud audit verify-bundle``)."""
    chosen = parse_formats(formats)
    work = Path(tempfile.mkdtemp(prefix="fraud-audit-bundle-"))
    try:
        name = f"audit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        export_bundle(_log(services), work / name, where=where, formats=chosen, actor=actor_of(key))
        archive = work / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(work / name, arcname=name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/gzip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )


@router.get("/public-key", responses=_READ, summary="The key that checks bundles")
def read_audit_public_key(services: ServicesDep, key: ComplianceKey) -> dict[str, str]:
    """The audit key's public half (hex): compare it with the one given to you by another channel."""
    signer = _log(services).signer
    return {"public_key": signer.public_key_hex, "key_id": signer.key_id}


@router.get(
    "/decisions/{decision_id}",
    responses={**_READ, 404: {"model": Problem}},
    summary="Read a recorded decision",
)
def read_recorded_decision(decision_id: DecisionId, services: ServicesDep, key: ComplianceKey) -> dict[str, Any]:
    """The decision's record: its place in the chain (sequence, recorded time, hashes) and the event as stored
    (the input, the model input by name, model, configuration, score, outcome, rules, reasons)."""
    records = _log(services).find(decision_id, "decision")
    if not records:
        raise UnknownRecordError(f"no decision {decision_id!r} in the audit trail")
    record = records[-1]
    return {**record.as_dict(), "payload": orjson.loads(record.payload)}


@router.get(
    "/decisions/{decision_id}/replay",
    responses={**_READ, 404: {"model": Problem}, 409: {"model": Problem}},
    summary="Replay a recorded decision",
)
def replay_recorded_decision(decision_id: DecisionId, services: ServicesDep, key: ComplianceKey) -> dict[str, Any]:
    """Re-score the recorded input with the recorded model version and backend, decide it with the recorded
    configuration, and compare: ``identical`` is true when score (bit for bit), decision, rules and reasons
    all equal the recorded ones and the record is intact; ``differences`` says what differs otherwise."""
    replayer: Replayer | None = services.replayer
    if replayer is None:
        raise HTTPException(404, "this service records no audit trail (FRAUD_SCORING_AUDIT=false)")
    return replayer.replay_recorded(_log(services), decision_id).to_dict()
