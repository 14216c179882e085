"""The compliance officer's routes: verify the trail, stream a range and filters as JSON lines or CSV, download a
signed bundle that verifies on its own (and fails once altered), read a recorded decision; compliance only."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import orjson

from monitoring.audit import verify_bundle
from scoring_api.access.keys import Role
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World


def _scored(service: Service, world: World, n: int = 12) -> list[dict[str, Any]]:
    bodies = [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[:n])]
    answer = service.post("/v1/score/batch", json={"transactions": bodies})
    assert answer.status_code == 200
    return [item["decision"] for item in answer.json()["items"]]


def test_verify_reports_an_intact_trail(service: Service, world: World) -> None:
    _scored(service, world)
    report = service.get("/v1/audit/verify", role=Role.COMPLIANCE)
    assert report.status_code == 200
    assert report.json()["ok"] is True
    assert report.json()["records"] >= 13  # 12 decisions and the accesses
    for role in (Role.ADMIN, Role.ANALYST, Role.SCORER):
        assert service.get("/v1/audit/verify", role=role).status_code == 403


def test_records_stream_as_json_lines_and_csv_with_filters(service: Service, world: World) -> None:
    decisions = _scored(service, world)
    lines = service.get("/v1/audit/records?kind=decision", role=Role.COMPLIANCE)
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    records = [orjson.loads(line) for line in lines.text.splitlines()]
    assert [r["subject"] for r in records] == [d["decision_id"] for d in decisions]
    assert all(len(r["hash"]) == 64 and r["kind"] == "decision" for r in records)
    one = decisions[3]["decision_id"]
    table = service.get(f"/v1/audit/records?subject={one}&format=csv", role=Role.COMPLIANCE)
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [row["subject"] for row in rows] == [one]
    assert json.loads(rows[0]["payload"])["score"] == decisions[3]["score"]
    before = service.get("/v1/audit/records?until=2000-01-01T00:00:00Z", role=Role.COMPLIANCE)
    assert before.status_code == 200
    assert before.text == ""
    assert service.get("/v1/audit/records?kind=gossip", role=Role.COMPLIANCE).status_code == 422
    assert service.get("/v1/audit/records?since=2030-01-02&until=2030-01-01", role=Role.COMPLIANCE).status_code == 422


def test_a_downloaded_bundle_verifies_on_its_own_and_fails_once_altered(
    service: Service, world: World, tmp_path: Path
) -> None:
    decisions = _scored(service, world)
    answer = service.get("/v1/audit/bundle?kind=decision&formats=jsonl,csv,parquet", role=Role.COMPLIANCE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/gzip"
    archive = tmp_path / "bundle.tar.gz"
    archive.write_bytes(answer.content)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "received", filter="data")
    (folder,) = (tmp_path / "received").iterdir()
    public_key = service.get("/v1/audit/public-key", role=Role.COMPLIANCE).json()["public_key"]
    report = verify_bundle(folder, public_key)
    assert report.ok, report.findings
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["records"] == len(decisions)
    assert manifest["created_by"].startswith("key:")
    records = folder / "records.jsonl"
    lines = records.read_text().splitlines()
    edited = orjson.loads(lines[2])
    edited["payload"] = edited["payload"].replace('"decision":"', '"decision":"approve-')
    lines[2] = orjson.dumps(edited).decode()
    records.write_text("\n".join(lines) + "\n")
    assert not verify_bundle(folder, public_key).ok


def test_a_recorded_decision_is_read_with_its_place_in_the_chain(service: Service, world: World) -> None:
    decision = _scored(service, world)[0]
    answer = service.get(f"/v1/audit/decisions/{decision['decision_id']}", role=Role.COMPLIANCE)
    assert answer.status_code == 200
    record = answer.json()
    assert record["kind"] == "decision"
    assert record["seq"] >= 1
    assert len(record["prev_hash"]) == 64
    assert record["payload"]["score"] == decision["score"]
    assert record["payload"]["model_content_id"] == decision["model_version"]
    assert service.get("/v1/audit/decisions/unknown", role=Role.COMPLIANCE).status_code == 404
