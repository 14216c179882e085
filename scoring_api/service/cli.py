"""``fraud serve`` and ``fraud keys create|list|revoke``: the scoring service on the command line."""

from __future__ import annotations

import getpass
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from scoring_api.access.keys import KeyStore

keys_app = typer.Typer(help="API keys of the scoring service (one role each, stored as hashes).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``fraud serve`` and the ``fraud keys`` group to the root application."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (more than one needs FRAUD_REDIS_URL)")] = None,
    backend: Annotated[str | None, typer.Option(help="engine backend: numba, numpy or triton")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level")] = "info",
) -> None:
    """Serve the scoring API (FastAPI on uvicorn, with uvloop and httptools when installed)."""
    import tempfile

    import uvicorn
    from pydantic import ValidationError

    from features.settings import FeaturesSettings
    from ingest.settings import IngestSettings
    from lifecycle.settings import LifecycleSettings
    from monitoring.audit.settings import AuditSettings
    from monitoring.settings import MonitoringSettings
    from scoring_api.errors import ServiceConfigError
    from scoring_api.service.services import check_deployment_settings
    from scoring_api.settings import ScoringSettings, export_to_workers

    overrides: dict[str, Any] = {"host": host, "port": port, "workers": workers, "model_backend": backend}
    try:
        settings = ScoringSettings(**{k: v for k, v in overrides.items() if v is not None})
        # Loaded here so that a placeholder secret outside development stops the service before it starts.
        IngestSettings()
        LifecycleSettings()
        if settings.audit:
            AuditSettings()
        if settings.monitoring:
            MonitoringSettings()
        check_deployment_settings(settings, FeaturesSettings())
    except ValidationError as error:
        problems = "; ".join(str(e["msg"]) for e in error.errors())
        raise _fail(f"the service's settings are refused: {problems}") from None
    except ServiceConfigError as error:
        raise _fail(str(error)) from None
    metrics_dir = tempfile.mkdtemp(prefix="fraud-metrics-") if settings.workers > 1 else None
    export_to_workers(settings, metrics_dir)
    with _stop_signals_exit_cleanly():
        uvicorn.run(
            "scoring_api.service.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="auto",  # uvloop when installed
            http="auto",  # httptools when installed
            access_log=False,  # every access goes to the decision sink instead
            log_level=log_level,
        )


@contextmanager
def _stop_signals_exit_cleanly() -> Iterator[None]:
    """Make SIGTERM and SIGINT, the requested stops, end ``fraud serve`` with status 0.

    uvicorn catches them while it serves, drains the requests in flight, shuts the application down, then puts
    back the handlers it found and raises the signal again so that they act on it: with the default handlers
    the process then dies by SIGTERM (status -15, which supervisors report as a failure) and SIGINT becomes a
    KeyboardInterrupt (status 1). The handlers installed here end the process with status 0 instead, at that
    point or when the signal comes before uvicorn serves (while the application loads: nothing is in flight).
    A failure keeps its status: uvicorn exits 3 when the service cannot start, an exception propagates.
    """

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = {s: signal.signal(s, leave) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option(help="scorer, analyst, compliance or admin")],
    name: Annotated[str, typer.Option(help="who or what will use the key")] = "",
) -> None:
    """Create a key for ROLE and print it once: only its hash is stored."""
    from scoring_api.access.keys import Role

    try:
        chosen = Role(role)
    except ValueError:
        raise _fail(f"unknown role {role!r}; choose one of {[r.value for r in Role]}") from None
    with _key_store() as store:
        key, secret = store.create(chosen, name or chosen.value, getpass.getuser())
    typer.echo(secret)
    typer.echo(f"key {key.key_id} for role {key.role.value}: keep it now, it cannot be shown again", err=True)


@keys_app.command("list")
def list_keys() -> None:
    """The keys (ids, roles, names, when created and revoked), never their secrets."""
    with _key_store() as store:
        for key in store.listed():
            state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            typer.echo(
                f"{key.key_id}  {key.role.value:<10}  {key.name}  created {key.created_at:%Y-%m-%d %H:%M}  {state}"
            )


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="the key's id (the part after fsk_)")]) -> None:
    """Revoke a key: it stops working within the service's watch interval."""
    from scoring_api.errors import AccessError

    with _key_store() as store:
        try:
            key = store.revoke(key_id, getpass.getuser())
        except AccessError as error:
            raise _fail(str(error), 1) from None
    typer.echo(f"revoked key {key.key_id} ({key.role.value})")


@contextmanager
def _key_store() -> Iterator[KeyStore]:
    """The key store of the service database the settings name."""
    from lifecycle.registry.database import Database
    from scoring_api.access.keys import KeyStore
    from scoring_api.settings import ScoringSettings

    database = Database(ScoringSettings().database_url)
    try:
        yield KeyStore(database)
    finally:
        database.close()
