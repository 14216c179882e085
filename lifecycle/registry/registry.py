"""The model registry: content-addressed model versions, their lineage and gate verdicts, and the aliases
``champion`` and ``challenger`` that deployments follow.

Registering copies the artifact folder into the registry's model store under its content id, so the files
the gate blessed are the files that deploy. A content id is the digest ``sha256:<64 hex digits>`` (as the
artifact's manifest states it); its folder in the store is ``sha256/<64 hex digits>``, the layout of an OCI
image's blobs (:func:`store_path`), so the id and the path read the same way and no name needs escaping. The
database names that folder relative to the store, so a registry copied elsewhere (database and store together)
still finds its models. Evidence files (reports, plots, data validation) are kept beside them by content
(:mod:`lifecycle.registry.evidence`).

Deploying re-checks everything: the version must be blessed, the verdict's signature must hold, and the stored
files must still be byte-identical to those blessed and load through the engine (manifest and golden batch).

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> from pydantic import SecretStr
>>> key = SecretStr("example-signing-key-0123456789")
>>> registry = ModelRegistry(f"sqlite:///{root}/registry.sqlite", root / "models", signing_key=key)
>>> registry.versions()
[]
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import SecretStr

from ingest.validation.masking import mask_card_numbers
from lifecycle.records import RecordError, from_document, to_document
from lifecycle.registry.database import Database
from lifecycle.registry.errors import DeploymentRefusedError, RegistryError, UnknownModelError
from lifecycle.registry.events import RegistryEvent, RegistryEventKind, RegistryEventSink
from lifecycle.registry.evidence import EvidenceFile, EvidenceStore
from lifecycle.registry.lineage import Lineage, missing_fields
from lifecycle.registry.schema import create_schema
from lifecycle.registry.signing import folder_digest, sign, signature_matches
from lifecycle.registry.verdict import Verdict, verdict_problems
from lifecycle.settings import LifecycleSettings

ALIASES: Final = ("champion", "challenger")

_HISTORY_KEYS: Final = (
    "alias",
    "content_id",
    "previous_content_id",
    "changed_at",
    "changed_by",
    "action",
    "reason",
    "ticket",
)


_CONTENT_ID: Final = re.compile(r"^(sha256):([0-9a-f]{64})$")


def store_path(store: Path, content_id: str) -> Path:
    """Where the store keeps the artifact ``sha256:<hex>``: ``store/sha256/<hex>``."""
    match = _CONTENT_ID.match(content_id)
    if match is None:
        raise RegistryError(f"{content_id!r} is not a content id (sha256: and 64 hex digits)")
    algorithm, digest = match.groups()
    return store / algorithm / digest


def _json(record: Any) -> str:
    return json.dumps(to_document(record))


def _masked(actor: str, reason: str, ticket: str | None) -> tuple[str, str, str | None]:
    """Free text a person typed (who, why, which ticket), with any card number pasted into it masked."""
    return mask_card_numbers(actor), mask_card_numbers(reason), None if ticket is None else mask_card_numbers(ticket)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def engine_content_id(path: Path) -> str:
    """Load an artifact through the real scoring path (manifest and golden batch verified): its content id."""
    from model_engine import load_model

    return str(load_model(path, backend="numpy").metadata["content_id"])


def _changed_files(artifact_path: Path, verdict: Verdict) -> list[str]:
    """The files of the stored artifact that differ from those the verdict fingerprinted (added or removed too)."""
    current, blessed = folder_digest(artifact_path), verdict.artifact_files
    return sorted(name for name in set(current) | set(blessed) if current.get(name) != blessed.get(name))


def _check_judged_against(version: ModelVersion, champion: str | None) -> None:
    """Refuse to make ``version`` champion unless its gate verdict compared it with ``champion``, the current
    one: a verdict reached against an earlier champion (or before there was one) says nothing about whether
    it is worse than today's, and promoting on it would bypass the gate's change checks."""
    judged = None if version.verdict is None else version.verdict.champion_content_id
    if judged != champion:
        raise DeploymentRefusedError(
            f"model {version.content_id} was judged against champion {judged or '(none: there was no champion)'} "
            f"but the champion is now {champion or '(none)'}; its comparison is out of date: judge it again "
            "against the current champion (fraud train) before promoting it"
        )


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (the row, with its lineage and verdict read back as typed records)."""

    content_id: str
    name: str
    artifact_path: Path
    registered_at: str
    registered_by: str
    lineage: Lineage
    verdict: Verdict | None
    verdict_signature: str | None
    blessed: bool
    aliases: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The headline facts, as plain data for listings."""
        metrics = self.lineage.metrics.overall
        return {
            "content_id": self.content_id,
            "name": self.name,
            "registered_at": self.registered_at,
            "blessed": self.blessed,
            "aliases": list(self.aliases),
            "auc_roc": metrics.auc_roc,
            "average_precision": metrics.average_precision,
        }


class ModelRegistry:
    """Model versions by content id, with lineage, signed verdicts and aliases, in SQLite or PostgreSQL."""

    def __init__(
        self,
        url: str,
        store: Path,
        *,
        signing_key: SecretStr,
        verify_artifact: Callable[[Path], str] = engine_content_id,
        events: RegistryEventSink | None = None,
    ) -> None:
        # The key is an argument, never read here from the environment: only settings modules do that
        # (:meth:`from_settings` passes the configured one).
        self._db = Database(url)
        self._store = store.resolve()
        self._key = signing_key
        self._verify_artifact = verify_artifact
        self._events = events
        create_schema(self._db)

    @classmethod
    def from_settings(cls, settings: LifecycleSettings, *, events: RegistryEventSink | None = None) -> ModelRegistry:
        return cls(settings.registry_url, settings.model_store, signing_key=settings.model_signing_key, events=events)

    def _publish(self, kind: RegistryEventKind, content_id: str, actor: str, **facts: Any) -> None:
        """Hand the event to the sink, if there is one (a sink that raises makes the calling method raise)."""
        if self._events is not None:
            event = RegistryEvent(kind=kind, content_id=content_id, actor=actor, at=_now(), **facts)
            try:
                self._events.record(event)
            except Exception as error:
                what = f"{kind.value} of {content_id}" + (
                    f" ({event.reason})" if kind is RegistryEventKind.REFUSED else ""
                )
                raise RegistryError(f"the {what} could not be recorded: {error}") from error

    def close(self) -> None:
        self._db.close()

    # -- writing ---------------------------------------------------------------------------------------------

    def register(self, artifact: Path, *, name: str, lineage: Lineage, actor: str | None = None) -> ModelVersion:
        """Copy the artifact into the store under its content id and record it with its lineage.

        Registering the same content again returns the existing version (content addressing).
        """
        missing = missing_fields(lineage)
        if missing:
            raise RegistryError(f"lineage is incomplete, missing {missing}; a model without lineage is not registered")
        content_id = self._verify_artifact(artifact)
        existing = self._find(content_id)
        if existing is not None:
            return existing
        target = store_path(self._store, content_id)
        if target.exists():
            # Left by a registration that stopped before its row was written: reused only if byte-identical.
            if folder_digest(target) != folder_digest(artifact):
                raise RegistryError(
                    f"the model store already holds different files under {target}; move that folder aside and "
                    "register again"
                )
        else:
            # Copied under a temporary name and renamed: a crash mid-copy never leaves a partial folder that a
            # later registration of the same content would take for complete.
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
            shutil.copytree(artifact, partial)
            partial.rename(target)
        self._db.execute(
            "INSERT INTO model_versions (content_id, name, artifact_path, registered_at, registered_by, lineage) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                content_id,
                name,
                target.relative_to(self._store).as_posix(),
                _now(),
                actor or getpass.getuser(),
                _json(lineage),
            ],
        )
        registered = self.get(content_id)
        self._publish(RegistryEventKind.REGISTERED, content_id, registered.registered_by)
        return registered

    def record_verdict(self, ref: str, verdict: Verdict) -> ModelVersion:
        """Sign and store a gate verdict for a version. The verdict must name this version and, when blessed,
        fingerprint its stored files (``artifact_files``)."""
        version = self.get(ref)
        if verdict.content_id != version.content_id:
            raise RegistryError(f"the verdict is about {verdict.content_id!r}, not {version.content_id}")
        problems = verdict_problems(verdict)
        if problems:
            raise RegistryError(f"the verdict contradicts its checks: {'; '.join(problems)}; build it with judge()")
        if verdict.blessed and verdict.artifact_files != folder_digest(version.artifact_path):
            raise RegistryError("the verdict's artifact fingerprint does not match the stored files; re-run the gate")
        document = to_document(verdict)
        self._db.execute(
            "UPDATE model_versions SET verdict = ?, verdict_signature = ?, blessed = ? WHERE content_id = ?",
            [json.dumps(document), sign(document, self._key), int(verdict.blessed), version.content_id],
        )
        self._publish(RegistryEventKind.VERDICT, version.content_id, verdict.decided_by, blessed=verdict.blessed)
        return self.get(version.content_id)

    def deploy(
        self,
        ref: str,
        alias: str = "champion",
        *,
        actor: str | None = None,
        reason: str = "",
        ticket: str | None = None,
    ) -> ModelVersion:
        """Point ``alias`` at a version after re-checking that it is blessed and unchanged since blessing, and,
        for the champion, that its verdict was reached against the current champion.

        The alias is locked from the moment its current target is read until the move commits, so concurrent
        deployments take turns: each records the target it really replaced, and of two candidates judged
        against the same champion only the first is promoted (the second's verdict is then out of date).
        """
        if alias not in ALIASES:
            raise UnknownModelError(f"unknown alias {alias!r}; aliases are {list(ALIASES)}")
        version = self.get(ref)
        who, reason, ticket = _masked(actor or getpass.getuser(), reason, ticket)
        try:
            self.check_deployable(version)
            previous, moved = self._move_alias(
                alias, version, who, "deploy", reason, ticket, judged_against_current=alias == "champion"
            )
        except DeploymentRefusedError as refusal:
            self._publish(
                RegistryEventKind.REFUSED, version.content_id, who, alias=alias, reason=str(refusal), ticket=ticket
            )
            raise
        if not moved:
            return version  # it already pointed there: nothing changed, nothing to record
        kind = RegistryEventKind.DEPLOYED
        self._publish(
            kind, version.content_id, who, alias=alias, previous_content_id=previous, reason=reason, ticket=ticket
        )
        return self.get(version.content_id)

    def promote(
        self, ref: str, *, actor: str | None = None, reason: str = "", ticket: str | None = None
    ) -> ModelVersion:
        """Make a version the champion (the same checks as :meth:`deploy`); promoting the champion again changes
        and records nothing."""
        return self.deploy(ref, "champion", actor=actor, reason=reason, ticket=ticket)

    def rollback(
        self, alias: str = "champion", *, actor: str | None = None, reason: str, ticket: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` back at the version it pointed at before its last move; that version must still be
        deployable (blessed, signed, unchanged)."""
        rows = self._db.query(
            "SELECT content_id, previous_content_id FROM alias_history WHERE alias = ? ORDER BY changed_at DESC",
            [alias],
        )
        if not rows or rows[0][1] is None:
            raise RegistryError(f"{alias} has no earlier version to roll back to")
        current, earlier = str(rows[0][0]), str(rows[0][1])
        version = self.get(earlier)
        who, reason, ticket = _masked(actor or getpass.getuser(), reason, ticket)
        try:
            self.check_deployable(version)
            # A rollback returns to the version the alias held just before (a deliberate act with a reason,
            # which the gate let through against its own predecessor): it is not judged against the current
            # one, but it is refused if the alias moved again since the history was read.
            self._move_alias(alias, version, who, "rollback", reason, ticket, expected_current=current)
        except DeploymentRefusedError as refusal:
            self._publish(RegistryEventKind.REFUSED, earlier, who, alias=alias, reason=str(refusal), ticket=ticket)
            raise
        kind = RegistryEventKind.ROLLED_BACK
        self._publish(kind, earlier, who, alias=alias, previous_content_id=current, reason=reason, ticket=ticket)
        return self.get(earlier)

    def _move_alias(
        self,
        alias: str,
        version: ModelVersion,
        who: str,
        action: str,
        reason: str | None,
        ticket: str | None,
        *,
        judged_against_current: bool = False,
        expected_current: str | None = None,
    ) -> tuple[str | None, bool]:
        """Point ``alias`` at ``version`` and record the move, with why and under which ticket: the version it
        pointed at before, if any, and whether it moved (pointing it where it already points changes nothing).

        The alias is locked from the moment its current target is read until the move commits, so concurrent
        moves take turns: each records the target it really replaced, and (``judged_against_current``) of two
        candidates judged against the same champion only the first is promoted, the second's verdict being
        out of date by then.
        """
        content_id = version.content_id
        with self._db.transaction() as tx:
            tx.query_for_update("SELECT alias FROM alias_locks WHERE alias = ?", [alias])
            rows = tx.query("SELECT content_id FROM aliases WHERE alias = ?", [alias])
            previous = str(rows[0][0]) if rows else None
            if previous == content_id:
                return previous, False
            if judged_against_current:
                _check_judged_against(version, previous)
            if expected_current is not None and previous != expected_current:
                raise DeploymentRefusedError(
                    f"{alias} moved to {previous} meanwhile; look at `fraud models list` and decide again"
                )
            now = _now()  # taken under the lock: the history's times follow the order of the changes
            tx.execute("DELETE FROM aliases WHERE alias = ?", [alias])
            tx.execute(
                "INSERT INTO aliases (alias, content_id, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                [alias, content_id, now, who],
            )
            tx.execute(
                "INSERT INTO alias_history (alias, content_id, previous_content_id, changed_at, changed_by, action, "
                "reason, ticket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [alias, content_id, previous, now, who, action, reason or None, ticket],
            )
        return previous, True

    def attach_evidence(self, ref: str, files: Mapping[str, Path], *, actor: str | None = None) -> list[EvidenceFile]:
        """Keep evidence files with a version under relative names (``report.html``, ``plots/roc.png``), stored by
        content in the model store; a name attached again is replaced."""
        version = self.get(ref)
        stored = EvidenceStore(self._store).put_all(files)
        now = _now()
        with self._db.transaction() as tx:
            for item in stored:
                tx.execute(
                    "DELETE FROM model_evidence WHERE content_id = ? AND name = ?", [version.content_id, item.name]
                )
                tx.execute(
                    "INSERT INTO model_evidence (content_id, name, sha256, size, added_at) VALUES (?, ?, ?, ?, ?)",
                    [version.content_id, item.name, item.sha256, item.size, now],
                )
        evidence = tuple((item.name, item.sha256) for item in stored)
        self._publish(RegistryEventKind.EVIDENCE, version.content_id, actor or getpass.getuser(), evidence=evidence)
        return self.evidence(version.content_id)

    def check_deployable(self, version: ModelVersion) -> None:
        """Raise :class:`DeploymentRefusedError` unless the version is blessed, signed and unchanged."""
        cid = version.content_id
        if version.verdict is None or version.verdict_signature is None:
            raise DeploymentRefusedError(f"model {cid} has no gate verdict; run the gate (fraud train) first")
        trouble = self._verdict_trouble(version.verdict, version.verdict_signature)
        if trouble:
            raise DeploymentRefusedError(f"model {cid}: {trouble}")
        if not version.blessed or not version.verdict.blessed:
            failed = list(version.verdict.failed_checks)
            raise DeploymentRefusedError(f"model {cid} is not blessed: the gate refused it (failed checks: {failed})")
        changed = _changed_files(version.artifact_path, version.verdict)
        if changed:
            raise DeploymentRefusedError(f"model {cid}: files changed after blessing: {changed}; re-register, re-gate")
        try:
            loaded_id = self._verify_artifact(version.artifact_path)
        except Exception as error:
            raise DeploymentRefusedError(f"model {cid} no longer loads through the engine: {error}") from error
        if loaded_id != cid:
            raise DeploymentRefusedError(f"model {cid}: the artifact now has content id {loaded_id}")

    def blessing(self, version: ModelVersion) -> str:
        """What the registry vouches for about ``version``: ``blessed`` or ``refused`` (its signed verdict says
        so and holds up), ``not judged``, or ``unverified: WHY`` when the row's blessed flag, the verdict and the
        stored files do not bear each other out (something was altered outside the registry). Listings show
        this, never the bare ``blessed`` column, which anyone with write access to the database can set."""
        verdict, signature = version.verdict, version.verdict_signature
        if verdict is None or signature is None:
            return "unverified: marked blessed without a signed verdict" if version.blessed else "not judged"
        trouble = self._verdict_trouble(verdict, signature)
        if trouble:
            return f"unverified: {trouble}"
        if version.blessed != verdict.blessed:
            return "unverified: the blessed flag disagrees with the signed verdict"
        if not verdict.blessed:
            return "refused"
        try:
            changed = _changed_files(version.artifact_path, verdict)
        except RegistryError as error:
            return f"unverified: {error}"
        return f"unverified: files changed after blessing: {changed}" if changed else "blessed"

    def _verdict_trouble(self, verdict: Verdict, signature: str) -> str | None:
        """Why a stored verdict cannot be relied on (its signature, its coherence), or None."""
        if not signature_matches(to_document(verdict), signature, self._key):
            return "the gate verdict's signature does not match; it was altered"
        problems = verdict_problems(verdict)
        if problems:
            return f"the gate verdict contradicts its checks: {'; '.join(problems)}"
        return None

    # -- reading ---------------------------------------------------------------------------------------------

    def get(self, ref: str) -> ModelVersion:
        """A version by content id (or a unique prefix of at least 8 characters) or by alias."""
        target = self._alias_target(ref) if ref in ALIASES else None
        if ref in ALIASES and target is None:
            raise UnknownModelError(f"no model is {ref} yet; promote one with `fraud models promote ID`")
        found = self._find(target or ref)
        if found is None and target is None and len(ref) >= 8:
            # A plain comparison of the leading characters: LIKE would read % and _ in ``ref`` as wildcards.
            rows = self._db.query(
                "SELECT content_id FROM model_versions WHERE substr(content_id, 1, ?) = ?", [len(ref), ref]
            )
            if len(rows) == 1:
                found = self._find(rows[0][0])
            elif len(rows) > 1:
                raise UnknownModelError(f"{ref!r} matches {len(rows)} versions; give more of the content id")
        if found is None:
            raise UnknownModelError(f"no model version {ref!r}; `fraud models list` shows the registered ones")
        return found

    def find_alias(self, alias: str) -> ModelVersion | None:
        target = self._alias_target(alias)
        return None if target is None else self.get(target)

    def versions(self) -> list[ModelVersion]:
        """Every version, newest first."""
        rows = self._db.query("SELECT content_id FROM model_versions ORDER BY registered_at DESC")
        return [self.get(row[0]) for row in rows]

    def alias_history(self) -> list[dict[str, Any]]:
        """Every alias change, oldest first: alias, content id, previous content id, when, by whom, the action
        (deploy, rollback), the reason and the change ticket."""
        rows = self._db.query(f"SELECT {', '.join(_HISTORY_KEYS)} FROM alias_history ORDER BY changed_at")
        return [dict(zip(_HISTORY_KEYS, row, strict=True)) for row in rows]

    def evidence(self, ref: str) -> list[EvidenceFile]:
        """The evidence files kept with a version, by name."""
        rows = self._db.query(
            "SELECT name, sha256, size FROM model_evidence WHERE content_id = ? ORDER BY name",
            [self.get(ref).content_id],
        )
        return [EvidenceFile(name=str(name), sha256=str(sha), size=int(size)) for name, sha, size in rows]

    def evidence_path(self, item: EvidenceFile) -> Path:
        """The stored file of an evidence item, verified against its digest."""
        return EvidenceStore(self._store).path(item.sha256)

    def _alias_target(self, alias: str) -> str | None:
        rows = self._db.query("SELECT content_id FROM aliases WHERE alias = ?", [alias])
        return str(rows[0][0]) if rows else None

    def _find(self, content_id: str) -> ModelVersion | None:
        rows = self._db.query(
            "SELECT content_id, name, artifact_path, registered_at, registered_by, lineage, verdict, "
            "verdict_signature, blessed FROM model_versions WHERE content_id = ?",
            [content_id],
        )
        if not rows:
            return None
        cid, name, path, at, by, lineage, verdict, signature, blessed = rows[0]
        aliases = tuple(str(r[0]) for r in self._db.query("SELECT alias FROM aliases WHERE content_id = ?", [cid]))
        try:
            lineage_record = from_document(Lineage, json.loads(lineage))
            verdict_record = from_document(Verdict, json.loads(verdict)) if verdict else None
        except (RecordError, ValueError) as error:
            raise RegistryError(
                f"model {cid}: its stored lineage or verdict cannot be read ({error}); it was altered or written by "
                "an incompatible version"
            ) from None
        stored = Path(path)
        return ModelVersion(
            content_id=cid,
            name=name,
            # Relative to the store (registries made before kept absolute paths, which resolve as they were).
            artifact_path=stored if stored.is_absolute() else self._store / stored,
            registered_at=at,
            registered_by=by,
            lineage=lineage_record,
            verdict=verdict_record,
            verdict_signature=signature,
            blessed=bool(blessed),
            aliases=tuple(sorted(aliases)),
        )
