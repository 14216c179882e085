"""No card number is recorded in clear, whatever field of whatever event it hides in, while the identifiers,
digests and floats that only look like long digit runs are kept exactly."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitoring.audit import AccessEvent, AlertActionEvent, DecisionConfigEvent
from monitoring.audit.card_numbers import may_hold_card_number, screen
from tests.monitoring.audit import support

#: Well-known test card numbers (Visa, Mastercard, Amex, Discover, a 19-digit Visa), as they may be typed.
TEST_CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4000000000000000006")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"note": "card 4111 1111 1111 1111 declined"}, {"note": "card 411111******1111 declined"}),
        ({"note": "4111-1111-1111-1111"}, {"note": "411111******1111"}),
        ({"amount": 4111111111111111}, {"amount": "411111******1111"}),
        ({"amount": 4111111111111111.0}, {"amount": "411111******1111"}),
        ({"amount": -5555555555554444}, {"amount": "-555555******4444"}),
        ({"5555555555554444": 1}, {"555555******4444": 1}),
        ({"list": [1, "378282246310005"]}, {"list": [1, "378282*****0005"]}),
        ({"nested": {"deep": ["ref.6011111111111117"]}}, {"nested": {"deep": ["ref.601111******1117"]}}),
        ({"quoted": 'he said "4111111111111111"'}, {"quoted": 'he said "411111******1111"'}),
        # A short hexadecimal word is no digest: the card number in it is found.
        ({"id": "dead4111111111111111beef"}, {"id": "dead411111******1111beef"}),
        # Thirty-two hex digits run on into a letter are no word of their own: the card number in it is found.
        ({"id": "abcdef" * 3 + "4111111111111111g"}, {"id": "abcdef" * 3 + "411111******1111g"}),
        # Twelve to nineteen digits failing the Luhn check: nothing of them is kept.
        ({"id": "411111111111111"}, {"id": "<card number removed>"}),
    ],
)
def test_card_numbers_are_masked_in_any_value(document: dict[str, object], expected: dict[str, object]) -> None:
    masked, count = screen(orjson.dumps(document))
    assert orjson.loads(masked) == expected
    assert count == 1


@pytest.mark.parametrize(
    "document",
    [
        {"features": {"mean": 0.30000000000000004, "ratio": 1 / 3, "z": -123.45678901234567}},
        {"card_token": "tok_a123456789012b3c4d5e6f7a8b9c0d1e2f"},  # twelve digits inside a token's digest
        {"model": "sha256:" + "1234567890123456" + "ab" * 24},
        {"decision_id": "0c872598f9d191180000000000000000"},  # a counter's decimal run inside a hexadecimal id
        {"ids": ["0c872598f9d19118000000000000000" + str(k) for k in range(10)]},
        {"digest": "ab" * 60 + "4111111111111111" + "cd" * 60},  # a long digest: its whole word is looked at
        {"when": "2026-03-01T10:00:00.123456+00:00", "date": "2026-01-01 00:00:00"},
        {"card_display": "411111******1111", "short": "12345678901", "amount": 99999999999.0},
        {"long_id": "1" * 25},  # longer than any card number
        {"ratio": "1.4111111111111111"},  # a decimal's fraction, in a string as in a number
    ],
)
def test_identifiers_digests_and_floats_are_kept_exactly(document: dict[str, object]) -> None:
    payload = orjson.dumps(document)
    assert screen(payload) == (payload, 0)


def test_the_quick_test_never_misses_what_masking_would_change() -> None:
    # Whatever masking changes, the quick test must have flagged (it is the only gate to masking).
    samples = [{"v": f"x{card}"} for card in TEST_CARDS] + [{"v": int(card)} for card in TEST_CARDS]
    samples += [{"v": f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}"} for card in TEST_CARDS]
    samples += [{card: True} for card in TEST_CARDS] + [{"v": float(card)} for card in TEST_CARDS]
    for sample in samples:
        payload = orjson.dumps(sample)
        assert may_hold_card_number(payload), sample
        assert screen(payload)[1] == 1, sample


def test_events_are_recorded_masked_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    events = [
        support.decision(1, input={"transaction_id": "tx-1", "device_id": "4111111111111111", "amount": 10.0}),
        AccessEvent(
            key_id="5555555555554444",
            event_type="score",
            success=False,
            origin="10.0.0.1",
            resource="POST /v1/score",
            detail="pan 6011111111111117 in a header",
        ),
        AlertActionEvent(actor="analyst", alert_id="a1", action="noted", state="open", note="card 378282246310005"),
        DecisionConfigEvent(
            actor="risk", config_version="cfg-9", action="created", configuration={"deny_list": ["4111111111111111"]}
        ),
        support.decision(2),
    ]
    with support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        result = log.append(events)
        stored = list(log.records())
        assert log.verify().ok
    assert result.masked_events == 4
    text = "\n".join(str(r.as_dict()) for r in stored)
    for card in TEST_CARDS[:4]:
        assert card not in text
    assert stored[1].actor == "555555******4444"  # the filed-under column is masked like the payload
    assert "411111******1111" in stored[0].payload
    assert "masked" in caplog.text
    assert "4111111111111111" not in caplog.text


def test_a_decision_id_stays_findable_when_its_record_is_masked(tmp_path: Path) -> None:
    """A decision id is a 32-digit hexadecimal word, which may hold a Luhn-valid run of digits by chance; when
    another field of its record is masked, the id keeps its column as it keeps its place in the payload, so the
    decision is still found (and replayed) by its id."""
    decision_id = "4016151f22c" + "4111111111111111" + "abcde"
    event = support.decision(1, decision_id=decision_id, input={"transaction_id": "b123456789-1234", "amount": 10.0})
    with support.open_log(f"sqlite:///{tmp_path}/a.sqlite", tmp_path / "archive") as log:
        assert log.append([event]).masked_events == 1
        (stored,) = log.records()
        assert stored.subject == decision_id
        assert log.decision(decision_id).decision_id == decision_id
        assert "b123456789-1234" not in stored.payload
