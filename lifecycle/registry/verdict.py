"""The gate's verdict: every check with its value, rule and outcome, and the conclusion they support.

A check passes, fails, or is skipped with the reason it could not apply (no champion yet, a slice too small to
judge); a skipped check is listed, never counted as passed. A blessing needs every check that ran to have
passed, at least one value check and one infrastructure check that ran, and the change checks listed (run, or
skipped with their reason): a verdict resting on skipped checks alone blesses nothing.

A :class:`Verdict` is a typed record; the registry stores it as JSON (:mod:`lifecycle.records`) and signs that
document, so any change to any value breaks the signature. :func:`verdict_problems` says why a verdict does not
support its own conclusion; the registry refuses to record or deploy on such a verdict whoever signed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from lifecycle.records import RECORD_CONFIG

#: The kinds of check a blessing verdict must hold (the prefix of each check's name): value and infrastructure
#: checks that ran, and change checks that ran or were skipped with their reason (the first model has no champion).
CHECK_KINDS: Final = ("value", "change", "infrastructure")
_MUST_RUN: Final = ("value", "infrastructure")


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # the check could not apply; ``detail`` says why


@dataclass(frozen=True)
class Check:
    """One gate check: what was measured, the rule it had to meet, and the outcome (with why, when skipped or
    failed on an error)."""

    __pydantic_config__ = RECORD_CONFIG

    name: str
    value: float | None
    rule: str
    outcome: Outcome
    detail: str = ""

    def __post_init__(self) -> None:
        # Stored and signed as JSON: an int would read back as a float and no longer match its signature.
        object.__setattr__(self, "value", None if self.value is None else float(self.value))
        if self.outcome is Outcome.SKIPPED and not self.detail:
            raise ValueError(f"the skipped check {self.name} must say why it was skipped")

    @classmethod
    def measured(cls, name: str, value: float | None, rule: str, ok: bool, detail: str = "") -> Check:
        """A check that ran: passed when ``ok``."""
        return cls(name, value, rule, Outcome.PASSED if ok else Outcome.FAILED, detail)

    @classmethod
    def skipped(cls, name: str, rule: str, reason: str) -> Check:
        """A check that could not apply, and why."""
        return cls(name, None, rule, Outcome.SKIPPED, reason)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @property
    def kind(self) -> str:
        """``value``, ``slice_value``, ``change``, ``slice_change`` or ``infrastructure``."""
        return self.name.split(":", 1)[0]


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one artifact. Build it with :meth:`decide`, which derives ``blessed`` and
    ``failed_checks`` from the checks."""

    __pydantic_config__ = RECORD_CONFIG

    content_id: str
    blessed: bool
    failed_checks: tuple[str, ...]
    skipped_checks: tuple[str, ...]
    checks: tuple[Check, ...]
    thresholds_version: str
    thresholds_digest: str
    champion_content_id: str | None
    artifact_files: dict[str, str]
    decided_at: str
    decided_by: str

    @classmethod
    def decide(
        cls,
        *,
        content_id: str,
        artifact_files: Mapping[str, str],
        checks: Sequence[Check],
        thresholds_version: str,
        thresholds_digest: str,
        champion_content_id: str | None,
        decided_by: str,
    ) -> Verdict:
        """Blessed only if no check failed and the checks that ran are enough to bless (:func:`lacking_kinds`)."""
        return cls(
            content_id=content_id,
            blessed=_blesses(checks),
            failed_checks=_named(checks, Outcome.FAILED),
            skipped_checks=_named(checks, Outcome.SKIPPED),
            checks=tuple(checks),
            thresholds_version=thresholds_version,
            thresholds_digest=thresholds_digest,
            champion_content_id=champion_content_id,
            artifact_files=dict(artifact_files),
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
            decided_by=decided_by,
        )


def _named(checks: Sequence[Check], outcome: Outcome) -> tuple[str, ...]:
    return tuple(c.name for c in checks if c.outcome is outcome)


def lacking_kinds(checks: Sequence[Check]) -> list[str]:
    """What the checks lack to support a blessing: a value and an infrastructure check that ran, change checks
    listed (run or skipped with their reason)."""
    ran = {c.kind for c in checks if c.outcome is not Outcome.SKIPPED}
    listed = {c.kind for c in checks}
    lacking = [f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} check that ran" for kind in _MUST_RUN if kind not in ran]
    if "change" not in listed:
        lacking.append("the change checks (run, or skipped with their reason)")
    return lacking


def _blesses(checks: Sequence[Check]) -> bool:
    return not _named(checks, Outcome.FAILED) and not lacking_kinds(checks)


def verdict_problems(verdict: Verdict) -> list[str]:
    """Why a verdict does not support its own conclusion (empty when it does).

    ``blessed`` must be exactly what the checks support, ``failed_checks`` and ``skipped_checks`` must name the
    failed and skipped ones: a verdict with its infrastructure checks left out, resting on skipped checks, or
    with ``blessed`` set over a failed check, is refused whoever signs it.
    """
    problems: list[str] = []
    failed, skipped = _named(verdict.checks, Outcome.FAILED), _named(verdict.checks, Outcome.SKIPPED)
    if verdict.blessed and failed:
        problems.append(f"blessed={verdict.blessed!r} disagrees with its checks (failed: {list(failed)})")
    if verdict.blessed and lacking_kinds(verdict.checks):
        problems.append(f"a blessing needs {'; '.join(lacking_kinds(verdict.checks))}")
    if not verdict.blessed and _blesses(verdict.checks):
        problems.append("blessed=False although every check that ran passed and the checks suffice")
    if verdict.failed_checks != failed:
        problems.append(f"failed_checks {list(verdict.failed_checks)!r} does not list the failed checks {list(failed)}")
    if verdict.skipped_checks != skipped:
        problems.append(
            f"skipped_checks {list(verdict.skipped_checks)!r} does not list the skipped ones {list(skipped)}"
        )
    return problems
