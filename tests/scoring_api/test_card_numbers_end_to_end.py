"""End to end: ``fraud serve`` in its own process, fed known test card numbers as ``pan`` and typed into every
field a client or a person controls (identifiers, a decision configuration's notes and lists, reasons and
tickets of changes, a key's name, an analyst's note, a path, a label); then every database, export, bundle and
log file the run produced, and every answer it gave, is scanned for the numbers in clear: none is found.

The run is checked to have done what it claims (decisions recorded with the cards' display form, an alert
acknowledged, bundles exported), so the empty scan is not an empty run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lifecycle.registry.database import Database
from scoring_api.access.keys import KeyStore, Role
from tests.conftest import free_tcp_ports
from tests.monitoring.audit.test_card_numbers import TEST_CARDS
from tests.monitoring.audit.test_no_card_numbers_anywhere import forms, scan_files
from tests.scoring_api.support import World, blessed_registry, serve_environment

FRAUD = str(Path(sys.executable).with_name("fraud"))
VISA, MASTERCARD, AMEX, DISCOVER, VISA19 = TEST_CARDS


def _spaced(card: str) -> str:
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))


def _environment(root: Path, world: World, port: int) -> dict[str, str]:
    return {
        **serve_environment(root, world, port),
        "FRAUD_SCORING_WATCH_INTERVAL_S": "0.5",
        "FRAUD_DRIFT_WINDOWS": "tumbling-100",
        "FRAUD_MONITOR_BUFFER_ROWS": "1",  # the monitors run on every batch (no later traffic flushes a buffer)
        "FRAUD_ACTOR": f"operator {VISA}",
    }


def _fraud(env: dict[str, str], root: Path, log: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with log.open("a") as out:
        return subprocess.run([FRAUD, *args], env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT, text=True,
                              timeout=300, check=False)  # fmt: skip


class _Served:
    """``fraud serve`` in a subprocess, its output in a log file; ready when /readyz says so."""

    def __init__(self, env: dict[str, str], root: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{env['FRAUD_SCORING_PORT']}"
        self._out = log.open("a")
        self.process = subprocess.Popen([FRAUD, "serve", "--log-level", "debug"], env=env, cwd=root,
                                        stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"fraud serve did not become ready; see {log}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


def _exercise(url: str, keys: dict[Role, str], world: World, answers: list[bytes], exports: Path) -> dict[str, Any]:
    """Every way a card number may reach the service; the answers are kept for the scan."""
    client = httpx.Client(base_url=url, timeout=60)

    def call(method: str, path: str, role: Role, **kwargs: Any) -> httpx.Response:
        response = client.request(method, path, headers={"X-API-Key": keys[role]}, **kwargs)
        answers.append(response.content)
        return response

    bodies = [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[:240])]
    presented = (VISA, _spaced(MASTERCARD), AMEX, _spaced(DISCOVER).replace(" ", "-"), VISA19)
    by_number = [
        {**{k: v for k, v in b.items() if k != "card_token"}, "pan": card}
        for b, card in zip(bodies[:5], presented, strict=True)
    ]
    for body in by_number:
        assert call("POST", "/v1/score", Role.SCORER, json=body).status_code == 200
    refused = [
        {**bodies[5], "customer_id": VISA},  # identifiers refuse a card number (the contract's rule)
        {**bodies[6], "terminal_id": MASTERCARD, "device_id": _spaced(AMEX)},
        {**bodies[7], "transaction_id": VISA19},
        {**by_number[0], "pan": VISA[:-1] + "2"},  # fails its Luhn check
        {**bodies[8], "card_token": VISA},  # a card number where the token goes
        {**by_number[0], "card_token": bodies[0]["card_token"]},  # both
    ]
    for body in refused:
        assert call("POST", "/v1/score", Role.SCORER, json=body).status_code == 422
    batch = [*bodies[9:100], {**bodies[100], "pan": _spaced(VISA)}, {**bodies[101], "card_token": AMEX}]
    assert call("POST", "/v1/score/batch", Role.SCORER, json={"transactions": batch}).status_code == 200
    shifted = [{**b, "amount": b["amount"] * 6, "transaction_id": b["transaction_id"] + "-x6"} for b in bodies[:240]]
    assert call("POST", "/v1/score/batch", Role.SCORER, json={"transactions": shifted}).status_code == 200
    assert call("GET", f"/v1/decisions/{VISA}", Role.ANALYST).status_code == 404
    labels = {"labels": [{"transaction_id": VISA19, "is_fraud": True, "reported_at": "2026-03-20T10:00:00Z"}]}
    assert call("POST", "/v1/labels", Role.SCORER, json=labels).status_code == 422
    assert call("GET", f"/v1/decisions/{VISA19}", Role.ANALYST).status_code == 404

    config = {
        "rules": [{"name": "big", "action": "review", "match": {"amount_above": 5000}, "description": f"card {VISA}"}],
        "note": f"copied from ticket about {_spaced(MASTERCARD)}",
    }
    created = call("POST", f"/v1/decision-configs?reason=card+{VISA}&ticket={AMEX}", Role.ADMIN, json=config)
    assert created.status_code == 201, created.text
    assert call("POST", f"/v1/decision-configs/1/activate?reason={DISCOVER}", Role.ADMIN).status_code == 200
    listed = {"rules": [{"name": "deny", "action": "decline", "match": {"customer_ids": [VISA]}}]}
    assert call("POST", "/v1/decision-configs", Role.ADMIN, json=listed).status_code == 422
    canary = call("POST", f"/v1/deployments/canary?reason={VISA}&ticket={_spaced(VISA)}", Role.ADMIN,
                  json={"model": world.ids["linear"], "share": 0.2})  # fmt: skip
    assert canary.status_code == 200, canary.text
    assert call("DELETE", f"/v1/deployments/canary?reason=card+{MASTERCARD}", Role.ADMIN).status_code == 200

    deadline = time.monotonic() + 90  # the monitors run on what gathered within their delay, on a busy machine
    while not (alerts := call("GET", "/v1/monitoring/alerts", Role.ANALYST).json()["alerts"]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert alerts, "the shifted amounts raised an alert"
    note = {"note": f"customer called about {_spaced(VISA)}", "assignee": f"desk {MASTERCARD}"}
    assert (
        call("POST", f"/v1/monitoring/alerts/{alerts[0]['id']}/acknowledge", Role.ANALYST, json=note).status_code == 200
    )

    for fmt in ("jsonl", "csv"):
        assert call("GET", f"/v1/audit/records?format={fmt}", Role.COMPLIANCE).status_code == 200
    assert call("GET", f"/v1/audit/records?subject={VISA}", Role.COMPLIANCE).status_code == 200
    bundle = call("GET", "/v1/audit/bundle", Role.COMPLIANCE)
    assert bundle.status_code == 200
    archive = exports / "downloaded.tar.gz"
    archive.write_bytes(bundle.content)
    with tarfile.open(archive) as tar:
        tar.extractall(exports / "downloaded", filter="data")
    decision = call("GET", "/v1/score", Role.SCORER)  # a wrong method, answered without the body
    answers.append(decision.content)
    return {"alert": alerts[0]["id"]}


@pytest.mark.slow
def test_no_card_number_in_clear_in_anything_the_service_wrote_or_answered(tmp_path: Path, world: World) -> None:
    root = tmp_path / "run"
    (root / "service").mkdir(parents=True)
    (root / "logs").mkdir()
    exports = root / "exports"
    exports.mkdir()
    registry, _ = blessed_registry(root / "registry", world)
    registry.close()
    (port,) = free_tcp_ports(1)
    env = _environment(root, world, port)
    log = root / "logs" / "fraud.log"
    database = Database(env["FRAUD_SCORING_DATABASE_URL"])
    try:
        store = KeyStore(database)
        keys = {role: store.create(role, role.value, "tester")[1] for role in Role}
    finally:
        database.close()
    assert _fraud(env, root, log, "keys", "create", "--role", "analyst", "--name", f"desk {AMEX}").returncode == 0

    answers: list[bytes] = []
    served = _Served(env, root, log)
    try:
        _exercise(served.url, keys, world, answers, exports)
    finally:
        served.stop()
    assert served.process.returncode is not None
    assert _fraud(env, root, log, "audit", "export", "--out", str(exports / "cli")).returncode == 0
    assert _fraud(env, root, log, "audit", "verify").returncode == 0
    assert _fraud(env, root, log, "alerts", "list").returncode == 0

    audit = (root / "audit" / "audit.sqlite").read_bytes() + (exports / "cli" / "records.jsonl").read_bytes()
    for display in (b"411111******1111", b"555555******4444", b"378282*****0005", b"601111******1117"):
        assert display in audit, f"the run recorded the card shown as {display!r}"
    files = dict(scan_files(root))
    assert any(p.suffix == ".parquet" for p in files), "the exports were scanned in every format"
    assert log.stat().st_size > 0
    found = [
        (str(path.relative_to(root)), card)
        for path, data in files.items()
        for card in TEST_CARDS
        for form in forms(card)
        if form in data
    ]
    # The answers: no card number sent (as such, as an identifier, in a config, a reason, a note...) comes back.
    found += [
        (f"answer {i}", card)
        for i, answer in enumerate(answers)
        for card in TEST_CARDS
        for form in forms(card)
        if form in answer
    ]
    assert found == [], found
