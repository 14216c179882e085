"""``fraud models list|show|lineage|promote``: read the registry, and move the champion alias.

Every command that uses the registry (these, and ``fraud train``) takes ``--registry URL`` and
``--model-store DIR`` beside the settings (``FRAUD_REGISTRY_URL``, ``FRAUD_MODEL_STORE``) and says on stderr
which registry it uses, a password in the URL hidden.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from lifecycle.registry.registry import ModelRegistry

models_app = typer.Typer(help="Registered models: versions, lineage, verdicts, aliases.", no_args_is_help=True)

RegistryUrl = Annotated[
    str | None,
    typer.Option(
        "--registry", help="registry database: sqlite:///PATH or postgresql://... (default: FRAUD_REGISTRY_URL)"
    ),
]
ModelStore = Annotated[
    Path | None, typer.Option("--model-store", help="folder of registered artifacts (default: FRAUD_MODEL_STORE)")
]


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def open_registry(url: str | None, store: Path | None) -> ModelRegistry:
    """The registry the options name (else the settings'), announced on stderr."""
    from lifecycle.registry.database import display_url
    from lifecycle.registry.registry import ModelRegistry
    from lifecycle.settings import LifecycleSettings

    settings = LifecycleSettings()
    overrides = {"registry_url": url, "model_store": store}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    typer.echo(f"registry {display_url(settings.registry_url)}, models in {settings.model_store}", err=True)
    return ModelRegistry.from_settings(settings)


@contextmanager
def _registry(url: str | None, store: Path | None) -> Iterator[ModelRegistry]:
    """:func:`open_registry`; its errors become one line on stderr and exit status 1."""
    from lifecycle.errors import LifecycleError

    try:
        registry = open_registry(url, store)
    except LifecycleError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        yield registry
    except LifecycleError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        registry.close()


@models_app.command("list")
def list_models(registry_url: RegistryUrl = None, model_store: ModelStore = None) -> None:
    """Every registered version, newest first, with its aliases and headline metrics."""
    from rich.console import Console
    from rich.table import Table

    table = Table("content id", "name", "registered", "blessed", "aliases", "AUC ROC", "AP")
    with _registry(registry_url, model_store) as registry:
        for version in registry.versions():
            s = version.summary()
            auc, ap = s["auc_roc"], s["average_precision"]
            table.add_row(
                s["content_id"],
                s["name"],
                s["registered_at"],
                "yes" if s["blessed"] else "no",
                ",".join(s["aliases"]),
                "-" if auc is None else f"{auc:.4f}",
                "-" if ap is None else f"{ap:.4f}",
            )
    console = Console()
    if not console.is_terminal:
        # Piped output (scripts, logs) gets a wide table instead of one wrapped to a default 80 columns.
        console = Console(width=220)
    console.print(table)


@models_app.command("show")
def show_model(
    ref: Annotated[str, typer.Argument(help="content id (or prefix) or alias")],
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """One version: where it is stored, its verdict and every gate check."""
    from lifecycle.records import to_document

    with _registry(registry_url, model_store) as registry:
        version = registry.get(ref)
        doc = {
            **version.summary(),
            "artifact_path": str(version.artifact_path),
            "registered_by": version.registered_by,
            "verdict": None if version.verdict is None else to_document(version.verdict),
        }
    typer.echo(json.dumps(doc, indent=2))


@models_app.command("lineage")
def show_lineage(
    ref: Annotated[str, typer.Argument(help="content id (or prefix) or alias")],
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """The lineage record: data fingerprint and counts, features, code version, parameters, metrics, timings."""
    from lifecycle.records import to_document

    with _registry(registry_url, model_store) as registry:
        lineage = to_document(registry.get(ref).lineage)
    typer.echo(json.dumps(lineage, indent=2))


@models_app.command("promote")
def promote_model(
    ref: Annotated[str, typer.Argument(help="content id (or prefix)")],
    alias: Annotated[str, typer.Option(help="champion or challenger")] = "champion",
    registry_url: RegistryUrl = None,
    model_store: ModelStore = None,
) -> None:
    """Point an alias at a version; refused unless it is blessed and its files are unchanged since blessing."""
    with _registry(registry_url, model_store) as registry:
        version = registry.deploy(ref, alias)
    typer.echo(f"{alias} -> {version.content_id}")
