"""The dashboard's routes: the page, its assets, and the JSON it plots (drift per column and day, drift per
window of one column, the score's distribution against the reference, performance by day, alerts and the
actions on them).

Every route needs an analyst (:func:`monitoring.dashboard.auth.analyst_requirement`, over the caller the
mounting application finds). Ranges are days (``since``,
``until``, inclusive, at most :data:`MAX_DAYS` apart); drift over a range reads the per-day roll-ups, so months
of history cost one row per column and day.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from lifecycle.reference import SCORE, ReferenceProfile
from lifecycle.registry import GateThresholds
from monitoring.alerts import AlertKind, AlertState
from monitoring.dashboard.auth import Principal, analyst_requirement, current_principal
from monitoring.errors import AlertNotFoundError, AlertTransitionError, MonitorInputError
from monitoring.services import MonitoringServices

MAX_DAYS: Final = 400
DEFAULT_DAYS: Final = 30
_ASSETS: Final = {"dashboard.js": "text/javascript", "dashboard.css": "text/css", "plotly.min.js": "text/javascript"}


# Query parameters (module level: FastAPI resolves the annotations of the handlers by name).
Model = Annotated[str | None, Query(max_length=200)]
Day = Annotated[date | None, Query()]
Window = Annotated[str | None, Query(max_length=64)]
#: Alert ids and offsets are 64-bit integers in the database: larger numbers are refused, not overflowed.
MAX_ID: Final = 2**63 - 1
AlertId = Annotated[int, Path(ge=0, le=MAX_ID)]


@dataclass(frozen=True)
class DashboardSources:
    """What the dashboard reads: the monitoring services, the reference profile of a model (by content id;
    None when unknown) and the model shown by default (the one being served)."""

    services: MonitoringServices
    reference: Callable[[str], ReferenceProfile | None]
    current_model: Callable[[], str | None]


class AcknowledgeBody(BaseModel):
    note: str | None = Field(default=None, max_length=4_000)
    assignee: str | None = Field(default=None, max_length=200)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=4_000)


class AssignBody(BaseModel):
    assignee: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4_000)


class NoteBody(BaseModel):
    note: str = Field(min_length=1, max_length=4_000)


def dashboard_router(sources: DashboardSources, *, principal: Callable[..., Any] = current_principal) -> APIRouter:
    """The router; mount it under a prefix (``/v1/monitoring``): the page is at ``{prefix}/dashboard``."""
    requirement = analyst_requirement(principal)
    router = APIRouter(dependencies=[Depends(requirement)], tags=["monitoring"])
    history, alerts = sources.services.history, sources.services.alerts
    gate = GateThresholds.load()

    def model_of(model: str | None) -> str:
        chosen = model or sources.current_model()
        if not chosen:
            models = history.models()
            if not models:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no model has been monitored yet")
            chosen = models[-1]
        return chosen

    def days_of(model: str, since: date | None, until: date | None) -> tuple[str, str]:
        if until is None:
            latest = history.latest_day(model)
            until = date.fromisoformat(latest) if latest and latest != "unknown" else date.today()
        if since is None:
            # the default range ends at ``until``; near the first representable date it starts there
            since = (
                until - timedelta(days=DEFAULT_DAYS - 1)
                if until > date.min + timedelta(days=DEFAULT_DAYS)
                else date.min
            )
        if since > until or (until - since).days >= MAX_DAYS:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"give since <= until, at most {MAX_DAYS} days")
        return since.isoformat(), until.isoformat()

    @router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def get_dashboard(request: Request) -> HTMLResponse:
        base = request.url.path[: -len("/dashboard")]
        page = _asset("dashboard.html").replace("{{base}}", html.escape(base, quote=True))
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/assets/{name}", include_in_schema=False)
    def get_asset(name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {name!r}")
        body = _plotly() if name == "plotly.min.js" else _asset(name)
        return Response(body, media_type=_ASSETS[name], headers={"Cache-Control": "max-age=3600"})

    @router.get("/summary")
    def get_summary(model: Model = None) -> dict[str, Any]:
        chosen = model_of(model)
        profile = sources.reference(chosen)
        return {
            "model": chosen,
            "models": sorted({*history.models(), chosen}),
            "latest_day": history.latest_day(chosen),
            "columns": [] if profile is None else [{"name": c.name, "group": c.groups[0]} for c in profile.columns],
            "reference_metrics": {} if profile is None else dict(profile.metrics),
            "gate_minimum": dict(gate.value),
            "psi_bands": [0.1, 0.25],
        }

    @router.get("/drift/daily")
    def get_drift_daily(
        model: Model = None, window: Window = None, since: Day = None, until: Day = None
    ) -> dict[str, Any]:
        chosen = model_of(model)
        first, last = days_of(chosen, since, until)
        rows = history.drift_daily(chosen, window, first, last)
        return {"model": chosen, "since": first, "until": last, "rows": rows}

    @router.get("/drift/windows")
    def get_drift_windows(
        column: Annotated[str, Query(min_length=1, max_length=200)],
        model: Model = None,
        window: Window = None,
        since: Day = None,
        until: Day = None,
        limit: Annotated[int, Query(ge=1, le=5_000)] = 500,
    ) -> dict[str, Any]:
        chosen = model_of(model)
        first, last = days_of(chosen, since, until)
        rows = history.drift_windows(chosen, column, window, first, last, limit)
        return {"model": chosen, "column": column, "since": first, "until": last, "rows": rows}

    @router.get("/scores")
    def get_scores(model: Model = None, since: Day = None, until: Day = None) -> dict[str, Any]:
        chosen = model_of(model)
        first, last = days_of(chosen, since, until)
        profile = sources.reference(chosen)
        if profile is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reference profile for model {chosen}")
        column = profile.column(SCORE)
        counts = history.score_counts(chosen, first, last)
        total, reference_total = sum(counts.values()), column.total
        return {
            "model": chosen,
            "since": first,
            "until": last,
            "transactions": total,
            "bins": [column.bin_label(i) for i in range(column.bins)],
            "edges": list(column.edges or ()),
            "reference": [c / reference_total for c in column.counts],
            "current": [counts.get(i, 0) / total if total else 0.0 for i in range(column.bins)],
        }

    @router.get("/performance")
    def get_performance(model: Model = None, since: Day = None, until: Day = None) -> dict[str, Any]:
        chosen = model_of(model)
        first, last = days_of(chosen, since, until)
        profile = sources.reference(chosen)
        return {
            "model": chosen,
            "since": first,
            "until": last,
            "gate_minimum": dict(gate.value),
            "reference": {} if profile is None else dict(profile.metrics),
            "days": history.performance(chosen, first, last),
        }

    @router.get("/alerts")
    def list_alerts(
        state: Annotated[list[AlertState] | None, Query()] = None,
        kind: AlertKind | None = None,
        limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> dict[str, Any]:
        found = alerts.list_alerts(state or (), kind=kind, limit=limit, offset=offset)
        return {"alerts": [a.to_dict() for a in found]}

    @router.get("/alerts/{alert_id}")
    def get_alert(alert_id: AlertId) -> dict[str, Any]:
        with _Answers():
            alert, events = alerts.get(alert_id), alerts.history(alert_id)
        return {**alert.to_dict(), "history": [e.to_dict() for e in events]}

    @router.post("/alerts/{alert_id}/acknowledge")
    def acknowledge_alert(
        alert_id: AlertId, body: AcknowledgeBody, analyst: Principal = Depends(requirement)
    ) -> dict[str, Any]:
        with _Answers():
            return alerts.acknowledge(alert_id, actor=analyst.name, note=body.note, assignee=body.assignee).to_dict()

    @router.post("/alerts/{alert_id}/resolve")
    def resolve_alert(
        alert_id: AlertId, body: ResolveBody, analyst: Principal = Depends(requirement)
    ) -> dict[str, Any]:
        with _Answers():
            return alerts.resolve(alert_id, actor=analyst.name, note=body.note).to_dict()

    @router.post("/alerts/{alert_id}/assign")
    def assign_alert(alert_id: AlertId, body: AssignBody, analyst: Principal = Depends(requirement)) -> dict[str, Any]:
        with _Answers():
            return alerts.assign(alert_id, actor=analyst.name, assignee=body.assignee, note=body.note).to_dict()

    @router.post("/alerts/{alert_id}/notes")
    def add_alert_note(alert_id: AlertId, body: NoteBody, analyst: Principal = Depends(requirement)) -> dict[str, Any]:
        with _Answers():
            return alerts.add_note(alert_id, actor=analyst.name, note=body.note).to_dict()

    return router


class _Answers:
    """Monitoring's errors as HTTP answers: unknown alert 404, a refused transition 409, bad input 422."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if isinstance(error, AlertNotFoundError):
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
        if isinstance(error, AlertTransitionError):
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        if isinstance(error, MonitorInputError):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None


@functools.cache
def _asset(name: str) -> str:
    return resources.files("monitoring.dashboard").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def _plotly() -> str:
    """plotly.js as the plotly package ships it (served from here: the page needs no outside network)."""
    from plotly.offline import get_plotlyjs

    text: str = get_plotlyjs()
    return text
