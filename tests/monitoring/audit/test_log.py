"""The log appends batches at the end of an exact chain, keeps a signed head, gives events back as they were
recorded, and serialises concurrent writers (threads and several log objects on one database)."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from monitoring.audit import (
    KINDS,
    AuditError,
    AuditFilter,
    AuditLog,
    AuditStoreError,
    DecisionEvent,
    UnknownRecordError,
)
from monitoring.audit.records import GENESIS_HASH
from tests.monitoring.audit import support


def test_batches_chain_exactly_and_verify(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        first = log.append(support.decisions(500))
        second = log.append([e for i in range(3) for e in support.every_kind(i)])
        assert (first.first_seq, first.last_seq, second.first_seq, second.last_seq) == (1, 500, 501, 521)
        records = list(log.records())
        assert [r.seq for r in records] == list(range(1, 522))
        assert records[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
        assert all(r.intact() for r in records)
        head = log.head()
        assert (head.seq, head.hash) == (521, records[-1].hash) == (second.last_seq, second.head_hash)
        assert head.signed_by(log.public_key_hex)
        report = log.verify()
        assert report.ok, report.findings
        assert report.records == 521


def test_every_kind_round_trips_as_recorded(audit_url: str, tmp_path: Path) -> None:
    events = support.every_kind(7)
    with support.open_log(audit_url, tmp_path / "archive") as log:
        log.append(events)
        assert [r.event() for r in log.records()] == events
        assert {r.kind for r in log.records()} | {"evidence", "retention"} == set(KINDS)


def test_a_decision_keeps_what_replay_needs(audit_url: str, tmp_path: Path) -> None:
    decision = support.decision(42, features={"amount": 0.1 + 0.2, "ratio": 1 / 3, "tiny": 5e-324})
    with support.open_log(audit_url, tmp_path / "archive") as log:
        log.append([support.decision(1), decision])
        found = log.decision("dec-00000042")
        with pytest.raises(UnknownRecordError):
            log.decision("dec-unknown")
    # Bit for bit: the model input, score and reasons come back as the very floats that were scored.
    assert found == decision
    assert found.features["amount"] == 0.30000000000000004
    assert found.input == decision.input
    assert (found.model_content_id, found.decision_config_version, found.backend) == (support.MODEL, "cfg-3", "numpy")


def test_filters_select_by_time_kind_actor_subject_and_card(audit_url: str, tmp_path: Path) -> None:
    clock = support.Clock(support.march(1))
    with support.open_log(audit_url, tmp_path / "archive", clock) as log:
        log.append(support.decisions(10))
        clock.advance(days=1)
        log.append([support.access(i, success=i % 2 == 0) for i in range(6)])
        clock.advance(days=1)
        log.append(support.every_kind(3))

        def count(**fields: object) -> int:
            return sum(1 for _ in log.records(AuditFilter(**fields)))  # type: ignore[arg-type]

        assert count() == 23
        assert count(since=support.march(2), until=support.march(3)) == 6
        assert count(kinds=("decision",)) == 11
        assert count(actor="key_1") == 1
        assert count(subject="dec-00000003") == 2
        assert count(card_token=support.token(3)) == 2
    with pytest.raises(AuditError, match="unknown event kinds"):
        AuditFilter(kinds=("decisions",))
    with pytest.raises(AuditError, match="time zone"):
        AuditFilter(since=support.march(1).replace(tzinfo=None))


def test_recorded_time_never_goes_back(audit_url: str, tmp_path: Path) -> None:
    clock = support.Clock(support.march(10))
    with support.open_log(audit_url, tmp_path / "archive", clock) as log:
        log.append([support.access(1)])
        clock.advance(days=-3)  # the clock jumps back: records keep their order in time
        log.append([support.access(2)])
        times = [r.recorded_at for r in log.records()]
    assert times[0] == times[1]


def test_concurrent_writers_keep_one_chain(audit_url: str, tmp_path: Path) -> None:
    logs = [support.open_log(audit_url, tmp_path / "archive") for _ in range(3)]
    errors: list[BaseException] = []

    def write(log: AuditLog, start: int) -> None:
        try:
            for batch in range(10):
                log.append(support.decisions(20, start + batch * 20))
        except BaseException as error:  # reported below: a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=write, args=(logs[i % 3], i * 1000)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert not errors
        report = logs[0].verify()
        assert report.ok, report.findings
        assert report.records == 6 * 10 * 20
    finally:
        for log in logs:
            log.close()


def test_only_audit_events_are_appended(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        with pytest.raises(AuditError, match="audit events"):
            log.append([{"decision_id": "x"}])  # type: ignore[list-item]
        with pytest.raises(AuditError, match="cannot be recorded"):
            log.append([support.decision(1, input={"when": timedelta(seconds=1)})])
        assert log.head().seq == 0


def test_non_finite_numbers_are_refused_not_recorded_as_null(audit_url: str, tmp_path: Path) -> None:
    with support.open_log(audit_url, tmp_path / "archive") as log:
        with pytest.raises(AuditError, match="finite"):
            log.append([support.decision(1, score=float("nan"))])
        with pytest.raises(AuditError, match="finite"):
            log.append([support.decision(1, features={"amount": float("inf")})])
        assert log.head().seq == 0


def test_a_log_whose_head_was_removed_refuses_appends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/audit.sqlite"
    with support.open_log(url, tmp_path / "archive") as log:
        log.append(support.decisions(3))
    import sqlite3

    with sqlite3.connect(tmp_path / "audit.sqlite") as connection:
        connection.execute("DELETE FROM audit_head")
    with support.open_log(url, tmp_path / "archive") as log:  # not silently re-created over existing records
        with pytest.raises(AuditStoreError, match="no signed head"):
            log.append(support.decisions(1))
        assert not log.verify().ok


def test_unusable_urls_say_what_to_use(tmp_path: Path) -> None:
    with pytest.raises(AuditStoreError, match=r"sqlite:///"):
        AuditLog("sqlite:///:memory:", support.SIGNER, archive_dir=tmp_path)
    with pytest.raises(AuditStoreError, match="unsupported"):
        AuditLog("mysql://x/y", support.SIGNER, archive_dir=tmp_path)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(AuditStoreError, match="not a usable audit database"):
        AuditLog(f"sqlite:///{garbage}", support.SIGNER, archive_dir=tmp_path)


def test_decision_events_decode_nested_reasons(tmp_path: Path) -> None:
    with support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        log.append([support.decision(5)])
        event = next(log.records()).event()
    assert isinstance(event, DecisionEvent)
    assert event.reasons[0].feature == "amount"
    assert isinstance(event.reasons, tuple)
