"""The gate's verdict: every check with its value and rule, and the conclusion they support.

A :class:`Verdict` is a typed record; the registry stores it as JSON (:mod:`lifecycle.records`) and signs that
document, so any change to any value breaks the signature. :func:`verdict_problems` says why a verdict does not
support its own conclusion; the registry refuses to record or deploy on such a verdict whoever signed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from lifecycle.records import RECORD_CONFIG

#: The kinds of check a blessing verdict must hold at least one of (the prefix of each check's name).
CHECK_KINDS: Final = ("value", "change", "infrastructure")


@dataclass(frozen=True)
class Check:
    """One gate check: what was measured, the rule it had to meet, and whether it did."""

    __pydantic_config__ = RECORD_CONFIG

    name: str
    value: float | None
    rule: str
    passed: bool
    detail: str = ""

    def __post_init__(self) -> None:
        # Stored and signed as JSON: an int would read back as a float and no longer match its signature.
        object.__setattr__(self, "value", None if self.value is None else float(self.value))

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
        """Blessed only if there are checks and every one passed."""
        failed = tuple(c.name for c in checks if not c.passed)
        return cls(
            content_id=content_id,
            blessed=bool(checks) and not failed,
            failed_checks=failed,
            checks=tuple(checks),
            thresholds_version=thresholds_version,
            thresholds_digest=thresholds_digest,
            champion_content_id=champion_content_id,
            artifact_files=dict(artifact_files),
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
            decided_by=decided_by,
        )


def verdict_problems(verdict: Verdict) -> list[str]:
    """Why a verdict does not support its own conclusion (empty when it does).

    ``blessed`` must be exactly "every check passed", ``failed_checks`` must name the failed ones, and a
    blessing must rest on value, change and infrastructure checks alike: a verdict with its infrastructure
    checks left out, or with ``blessed`` set over a failed check, is refused whoever signs it.
    """
    failed = [c.name for c in verdict.checks if not c.passed]
    problems: list[str] = []
    if verdict.blessed != (bool(verdict.checks) and not failed):
        problems.append(f"blessed={verdict.blessed!r} disagrees with its checks (failed: {failed})")
    if list(verdict.failed_checks) != failed:
        problems.append(f"failed_checks {list(verdict.failed_checks)!r} does not list the failed checks {failed}")
    if verdict.blessed:
        kinds = {c.kind for c in verdict.checks}
        lacking = [kind for kind in CHECK_KINDS if kind not in kinds]
        if lacking:
            problems.append(f"a blessing needs {list(CHECK_KINDS)} checks; this verdict has none of {lacking}")
    return problems
