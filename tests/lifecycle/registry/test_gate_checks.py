"""Gate value and change checks (skipped with a reason where they cannot apply, never passed vacuously), the
threshold file, what a verdict needs to bless, and verdict signing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from lifecycle.evaluation import Metrics
from lifecycle.records import to_document
from lifecycle.registry.errors import GateConfigError
from lifecycle.registry.gate import GateThresholds, change_checks, value_checks
from lifecycle.registry.signing import sign, signature_matches
from lifecycle.registry.verdict import Check, Outcome, Verdict, verdict_problems

KEY = SecretStr("test-signing-key-0123456789")


def _metrics(frauds: int, auc: float | None = None, ap: float | None = None, recall: float | None = None) -> Metrics:
    return Metrics(
        transactions=10 * frauds,
        frauds=frauds,
        auc_roc=auc,
        average_precision=ap,
        card_precision_at_k=None,
        recall_at_alert_rate=recall,
        brier=0.1,
        ece=0.05,
    )


@dataclass(frozen=True)
class _Report:
    overall: Metrics
    slices: dict[str, Metrics] = field(default_factory=dict)


def _report(auc: float, ap: float, recall: float, slice_auc: float, slice_frauds: int = 40) -> _Report:
    return _Report(
        _metrics(200, auc, ap, recall),
        {"channel=ecom": _metrics(slice_frauds, slice_auc), "channel=pos": _metrics(slice_frauds, 0.9)},
    )


def _verdict(report: _Report, thresholds: GateThresholds, extra: tuple[Check, ...] = ()) -> Verdict:
    return Verdict.decide(
        content_id="abc",
        artifact_files={"graph.json": "00"},
        checks=[*value_checks(report, thresholds), *change_checks(report, None, thresholds), *extra],
        thresholds_version=thresholds.version,
        thresholds_digest=thresholds.digest,
        champion_content_id=None,
        decided_by="tester",
    )


def test_shipped_thresholds_load_and_are_versioned() -> None:
    thresholds = GateThresholds.load()
    assert thresholds.version
    assert len(thresholds.digest) == 64
    assert {"auc_roc", "average_precision", "recall_at_alert_rate"} <= set(thresholds.value)


def test_unknown_metric_in_thresholds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(
        'version = "x"\n[value]\nf1 = 0.5\n[calibration]\n[slice_value]\n[change]\n[slice_change]\n[infrastructure]\n'
    )
    with pytest.raises(GateConfigError, match="unknown metrics"):
        GateThresholds.load(path)


def test_value_checks_name_each_failure() -> None:
    thresholds = GateThresholds.load()
    good = value_checks(_report(0.9, 0.6, 0.5, 0.85), thresholds)
    assert all(c.passed for c in good)
    bad = value_checks(_report(0.5, 0.01, 0.0, 0.4), thresholds)
    failed = {c.name for c in bad if not c.passed}
    assert {"value:auc_roc", "value:average_precision", "value:recall_at_alert_rate"} <= failed
    assert "slice_value:channel=ecom:auc_roc" in failed
    assert "slice_value:channel=pos:auc_roc" not in failed


def test_small_slices_are_listed_as_skipped_with_their_size() -> None:
    checks = value_checks(_report(0.9, 0.6, 0.5, 0.1, slice_frauds=3), GateThresholds.load())
    slices = [c for c in checks if c.kind == "slice_value"]
    assert slices
    assert all(c.outcome is Outcome.SKIPPED for c in slices)
    assert "3 frauds and 27 genuine transactions" in slices[0].detail


def test_a_slice_of_frauds_only_says_why_its_auc_is_missing() -> None:
    only_frauds = Metrics(40, 40, None, 1.0, None, 1.0, 0.1, 0.05)
    report = _Report(_metrics(200, 0.9, 0.6, 0.5), {"amount=1000-inf": only_frauds})
    (check,) = [c for c in value_checks(report, GateThresholds.load()) if c.kind == "slice_value"]
    assert check.outcome is Outcome.SKIPPED
    assert "all 40 transactions of the slice are frauds: AUC is undefined" in check.detail


def test_calibration_error_is_bounded() -> None:
    thresholds = GateThresholds.load()
    calibrated = value_checks(_report(0.9, 0.6, 0.5, 0.85), thresholds)
    assert next(c for c in calibrated if c.name == "value:ece").passed
    raw = _Report(replace(_metrics(200, 0.9, 0.6, 0.5), ece=0.15))
    check = next(c for c in value_checks(raw, thresholds) if c.name == "value:ece")
    assert check.outcome is Outcome.FAILED
    assert check.rule == f"ece <= {thresholds.calibration['ece']:g}"


def test_change_checks_against_the_champion() -> None:
    thresholds = GateThresholds.load()
    champion = _report(0.90, 0.60, 0.50, 0.88)
    within = change_checks(_report(0.89, 0.58, 0.49, 0.86), champion, thresholds)
    assert all(c.passed for c in within)
    worse = change_checks(_report(0.80, 0.60, 0.50, 0.70), champion, thresholds)
    failed = {c.name for c in worse if not c.passed}
    assert failed == {"change:auc_roc", "slice_change:channel=ecom:auc_roc"}
    first = change_checks(_report(0.8, 0.5, 0.4, 0.8), None, thresholds)
    # No champion: every change check is listed, skipped with the reason, none passed.
    assert [c.name for c in first] == [f"change:{m}" for m in thresholds.change]
    assert all(c.outcome is Outcome.SKIPPED and "no champion yet" in c.detail for c in first)


def test_verdict_is_blessed_only_when_every_check_passes_and_signature_covers_values() -> None:
    thresholds = GateThresholds.load()
    loads = Check.measured("infrastructure:load", 1.0, "loads", True)
    assert _verdict(_report(0.9, 0.6, 0.5, 0.85), thresholds).blessed is False  # no infrastructure check ran
    blessed = _verdict(_report(0.9, 0.6, 0.5, 0.85), thresholds, (loads,))
    assert blessed.blessed is True
    assert set(blessed.skipped_checks) == {f"change:{m}" for m in thresholds.change}
    doc = to_document(blessed)
    signature = sign(doc, KEY)
    assert signature_matches(doc, signature, KEY)
    doc["checks"][0]["value"] = 0.99
    assert not signature_matches(doc, signature, KEY)
    altered = replace(blessed, checks=(replace(blessed.checks[0], value=0.99), *blessed.checks[1:]))
    assert not signature_matches(to_document(altered), signature, KEY)
    refused = _verdict(_report(0.5, 0.6, 0.5, 0.85), thresholds, (loads,))
    assert refused.blessed is False
    assert refused.failed_checks == ("value:auc_roc",)


def test_a_verdict_resting_only_on_skipped_checks_is_refused() -> None:
    thresholds = GateThresholds.load()
    skipped = [
        Check.skipped("value:auc_roc", "auc_roc >= 0.8", "no test period"),
        Check.skipped("change:auc_roc", "auc_roc >= champion - 0.02", "no champion yet"),
        Check.skipped("infrastructure:load", "loads", "not run"),
    ]
    verdict = Verdict.decide(
        content_id="abc",
        artifact_files={},
        checks=skipped,
        thresholds_version=thresholds.version,
        thresholds_digest=thresholds.digest,
        champion_content_id=None,
        decided_by="tester",
    )
    assert verdict.blessed is False
    assert verdict.failed_checks == ()
    forged = replace(verdict, blessed=True)
    assert any("a value check that ran" in p for p in verdict_problems(forged))
    with pytest.raises(ValueError, match="must say why"):
        Check.skipped("change:auc_roc", "rule", "")
