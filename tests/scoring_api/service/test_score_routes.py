"""POST /v1/score and /v1/score/batch through a real client: decisions, per-item errors, idempotency, card
numbers tokenised at the edge and never echoed, a validation error for each kind of bad input."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ingest.pan import CardTokenizer
from ingest.settings import IngestSettings
from scoring_api.access.keys import Role
from tests.scoring_api.service.conftest import Service
from tests.scoring_api.support import World

PAN = "4111 1111 1111 1111"


def _bodies(world: World, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [tx.model_dump(mode="json") for tx in world.transactions(world.day.iloc[start : start + n])]


def test_one_transaction_gets_a_decision(service: Service, world: World) -> None:
    body = _bodies(world, 1)[0]
    answer = service.post("/v1/score", json=body)
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["transaction_id"] == body["transaction_id"]
    assert decision["decision"] in {"approve", "review", "decline"}
    assert decision["risk_band"] in {"low", "medium", "high"}
    assert 0.0 <= decision["score"] <= 1.0
    assert decision["model_version"] == service.ids["forest"]
    assert decision["model_role"] == "champion"
    assert decision["decision_config_version"] == 0
    assert decision["thresholds"]["review"] == pytest.approx(world.thresholds["forest"])
    assert decision["decided_at"].endswith("Z")
    assert decision["replayed"] is False


def test_the_same_transaction_twice_returns_the_recorded_decision(service: Service, world: World) -> None:
    body = _bodies(world, 1)[0]
    first = service.post("/v1/score", json=body).json()
    again = service.post("/v1/score", json=body).json()
    assert again == {**first, "replayed": True}
    assert service.get(f"/v1/decisions/{body['transaction_id']}", role=Role.ANALYST).json() == first
    conflict = service.post("/v1/score", json={**body, "amount": body["amount"] + 1})
    assert conflict.status_code == 409
    assert "already scored with other content" in conflict.json()["detail"][0]["msg"]


def test_a_batch_answers_every_item_in_its_slot(service: Service, world: World) -> None:
    good = _bodies(world, 4)
    items = [
        good[0],
        {**good[1], "amount": -3},  # breaks the contract: refused by the schema
        {"transaction_id": "only-an-id"},  # missing fields
        good[2],
        "not an object",
        {**good[3], "card_token": PAN},  # a card number where the token goes
    ]
    answer = service.post("/v1/score/batch", json={"transactions": items})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [i["status"] for i in result["items"]] == [
        "scored",
        "rejected",
        "rejected",
        "scored",
        "rejected",
        "rejected",
    ]
    assert [i["index"] for i in result["items"]] == list(range(6))
    assert (result["scored"], result["rejected"]) == (2, 4)
    assert result["items"][1]["errors"][0]["loc"] == ["amount"]
    assert {e["loc"][0] for e in result["items"][2]["errors"]} >= {"timestamp", "customer_id", "amount"}
    assert result["items"][3]["decision"]["transaction_id"] == good[2]["transaction_id"]
    assert PAN not in answer.text


def test_a_batch_replays_what_was_scored_and_refuses_duplicates_within_it(service: Service, world: World) -> None:
    bodies = _bodies(world, 3)
    service.post("/v1/score", json=bodies[0])
    result = service.post("/v1/score/batch", json={"transactions": [bodies[0], bodies[1], bodies[1]]}).json()
    assert result["items"][0]["decision"]["replayed"] is True
    assert [i["status"] for i in result["items"][1:]] == ["rejected", "rejected"]
    assert result["items"][1]["errors"][0]["type"] == "transaction_id.unique"


def test_a_card_number_is_tokenised_at_the_edge_and_never_echoed(
    service: Service, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    body = _bodies(world, 1)[0]
    token = CardTokenizer.from_settings(IngestSettings()).tokenize(PAN)
    presented = {k: v for k, v in body.items() if k != "card_token"} | {"pan": PAN, "transaction_id": "pan-1"}
    with caplog.at_level(logging.DEBUG):
        answer = service.post("/v1/score", json=presented)
        tokenised = service.post("/v1/score", json={**body, "card_token": token, "transaction_id": "pan-2"})
        bad = service.post("/v1/score", json={**presented, "pan": "4111 1111 1111 1112"})
        both = service.post("/v1/score", json={**presented, "card_token": token})
    assert answer.status_code == tokenised.status_code == 200
    assert service.services.scorer.log.get("pan-1") is not None
    assert service.services.scorer.log.get("pan-1").card_token == token  # type: ignore[union-attr]
    assert bad.status_code == 422
    assert "Luhn" in bad.json()["detail"][0]["msg"]
    assert both.status_code == 422
    for text in (answer.text, bad.text, both.text, caplog.text):
        assert "4111 1111 1111 111" not in text
        assert "411111111111111" not in text


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"amount": -1.0}, ["amount"]),
        ({"amount": "twelve"}, ["amount"]),
        ({"amount": True}, ["amount"]),
        ({"timestamp": "2026-03-14T09:26:53"}, ["timestamp"]),  # naive time
        ({"timestamp": "1970-01-02T00:00:00Z"}, ["timestamp"]),  # out of range
        ({"currency": "euro"}, ["currency"]),
        ({"mcc": "54"}, ["mcc"]),
        ({"channel": "fax"}, ["channel"]),
        ({"entry_mode": "telepathy"}, ["entry_mode"]),
        ({"country": "Belgium"}, ["country"]),
        ({"transaction_id": ""}, ["transaction_id"]),
        ({"transaction_id": "x" * 65}, ["transaction_id"]),
        ({"customer_id": "with space"}, ["customer_id"]),
        ({"card_token": PAN}, ["card_token"]),
        ({"pan": 4111111111111111}, ["pan"]),
        ({"unexpected": 1}, ["unexpected"]),
        ({"card_token": None}, []),  # neither a token nor a card number
    ],
)
def test_each_kind_of_bad_input_is_a_validation_error(
    service: Service, world: World, change: dict[str, Any], loc: list[str]
) -> None:
    body = {**_bodies(world, 1)[0], **change}
    answer = service.post("/v1/score", json=body)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["detail"]
    assert loc in [e["loc"] for e in errors]
    assert all(set(e) == {"loc", "msg", "type"} for e in errors), "no input is echoed"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"transactions": []}', b'{"transactions": {}}', b'{"transactions": [], "extra": 1}'],
)
def test_a_body_that_is_not_a_batch_is_refused(service: Service, content: bytes) -> None:
    answer = service.post("/v1/score/batch", content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 422


def test_limits_on_batch_size_and_body_size(service: Service, world: World) -> None:
    limit = service.services.settings.max_batch_items
    body = _bodies(world, 1)[0]
    too_many = service.post("/v1/score/batch", json={"transactions": [body] * (limit + 1)})
    assert too_many.status_code == 422
    assert f"1 to {limit}" in too_many.json()["detail"][0]["msg"]
    huge = b'{"transactions": [' + b" " * service.services.settings.max_body_bytes + b"]}"
    answer = service.post("/v1/score/batch", content=huge, headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_nothing_to_serve_is_503_and_not_ready(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from scoring_api.service.app import create_app
    from tests.scoring_api.service.conftest import make_services

    services = make_services(tmp_path)
    key = services.keys.create(Role.SCORER, "t", "tester")[1]
    try:
        with TestClient(create_app(services, maintenance=False)) as client:
            body = {"transaction_id": "t", "timestamp": "2026-01-01T00:00:00Z", "card_token": "c",
                    "customer_id": "u", "terminal_id": "m", "amount": 1.0}  # fmt: skip
            answer = client.post("/v1/score", json=body, headers={"X-API-Key": key})
            assert answer.status_code == 503
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["model"]["ok"] is False
            assert "promote" in ready.json()["checks"]["model"]["detail"]
    finally:
        services.close()


#: Items a batch reads as columns whose content pydantic refuses, and items only pydantic reads.
_BATCH_ITEMS: list[tuple[str, dict[str, Any]]] = [
    ("negative amount", {"amount": -1.0}),
    ("amount as words", {"amount": "twelve"}),
    ("amount as a boolean", {"amount": True}),
    ("amount far too large", {"amount": 10**12}),
    ("naive time", {"timestamp": "2026-03-14T09:26:53"}),
    ("time out of range", {"timestamp": "1970-01-02T00:00:00Z"}),
    ("time far out of range", {"timestamp": "2199-01-02T00:00:00Z"}),
    ("no such day", {"timestamp": "2026-02-30T09:26:53Z"}),
    ("currency", {"currency": "euro"}),
    ("mcc", {"mcc": "54"}),
    ("channel", {"channel": "fax"}),
    ("entry mode", {"entry_mode": "telepathy"}),
    ("country", {"country": "Belgium"}),
    ("empty id", {"transaction_id": ""}),
    ("long id", {"transaction_id": "x" * 65}),
    ("id with a space", {"customer_id": "with space"}),
    ("id with a newline", {"terminal_id": "term\n"}),
    ("card number as token", {"card_token": PAN}),
    ("card number as device", {"device_id": "4111-1111-1111-1111"}),
    ("card number as number", {"pan": 4111111111111111}),
    ("unexpected key", {"unexpected": 1}),
    ("no card", {"card_token": None}),
    ("device as a number", {"device_id": 7}),
    ("mcc as a list", {"mcc": ["5411"]}),
    ("terminal as an object", {"terminal_id": {"id": "m1"}}),
    ("currency as a boolean", {"currency": False}),
]


def test_a_batch_answers_each_item_as_validating_it_alone_would(service: Service, world: World) -> None:
    """Items read as columns and checked by the suite get pydantic's own errors, each in its slot; an item
    pydantic refuses does not take part in the batch's checks (its duplicate id rejects no good item)."""
    good = _bodies(world, len(_BATCH_ITEMS) + 2, start=200)
    items: list[Any] = [{**good[k], **change} for k, (_, change) in enumerate(_BATCH_ITEMS)]
    items.append(good[-2])
    items.append({**good[-2], "amount": -5.0})  # the same id as the good item before it, and refused
    result = service.post("/v1/score/batch", json={"transactions": items}).json()
    for (label, _), item, answer in zip(_BATCH_ITEMS, items, result["items"], strict=False):
        assert answer["status"] == "rejected", label
        assert answer["errors"] == _pydantic_errors(item), label
    assert result["items"][-2]["status"] == "scored"
    assert result["items"][-1]["errors"][0]["loc"] == ["amount"]
    assert (result["scored"], result["rejected"]) == (1, len(_BATCH_ITEMS) + 1)


def test_a_batch_reads_the_same_transaction_alike_as_columns_and_one_by_one(service: Service, world: World) -> None:
    """The same transactions sent as plain items (columns) and with their amounts as text (pydantic, one by
    one) are one content: the second batch replays the first's decisions."""
    bodies = _bodies(world, 20, start=300)
    first = service.post("/v1/score/batch", json={"transactions": bodies}).json()
    as_text = [{**body, "amount": str(body["amount"])} for body in bodies]
    again = service.post("/v1/score/batch", json={"transactions": as_text}).json()
    assert first["scored"] == again["scored"] == 20
    for before, after in zip(first["items"], again["items"], strict=True):
        assert after["decision"] == {**before["decision"], "replayed": True}


def _pydantic_errors(item: Any) -> list[dict[str, Any]]:
    """The errors of validating one item alone with the request model, as the service words them."""
    from pydantic import ValidationError

    from scoring_api.service.responses import validation_errors
    from scoring_api.service.schemas import ScoreRequest

    try:
        ScoreRequest.model_validate(item)
    except ValidationError as error:
        return validation_errors(error.errors())
    raise AssertionError("pydantic accepts the item")


def test_a_batch_of_bad_items_only_answers_each_with_its_errors(service: Service, world: World) -> None:
    body = {k: v for k, v in _bodies(world, 1, start=400)[0].items() if k != "card_token"}
    result = service.post("/v1/score/batch", json={"transactions": [body, "no object"]}).json()
    assert (result["scored"], result["rejected"]) == (0, 2)
    assert [i["errors"] for i in result["items"]] == [_pydantic_errors(body), _pydantic_errors("no object")]
