"""The realistic preset: merchant attributes and the two injected fraud patterns (4: card-not-present burst on
a stolen card, 5: account takeover), checked against each victim's genuine history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.contract import Channel, EntryMode, Transaction
from ingest.simulator import SimulatedData, SimulatorConfig, simulate
from ingest.simulator.patterns import BURST_GAP_MAX_S, BURST_MIN_SIZE, TAKEOVER_GROWTH, TAKEOVER_NOISE

HOME = "BE"


def events(data: SimulatedData, scenario: int) -> list[pd.DataFrame]:
    """The injected payments of one pattern, one frame per event (each event has its own device)."""
    tx = data.transactions
    rows = tx[tx["fraud_scenario"] == scenario]
    return [group for _, group in rows.groupby("device_id", sort=True)]


def genuine_history(data: SimulatedData, card: str) -> pd.DataFrame:
    tx = data.transactions
    return tx[(tx["card_token"] == card) & (tx["fraud_scenario"] == 0)]


def test_handbook_preset_keeps_contract_defaults() -> None:
    tx = simulate(SimulatorConfig.preset("handbook", days=3, n_customers=300, n_terminals=600)).transactions
    for column, value in {"currency": "EUR", "mcc": "5999", "channel": "pos", "entry_mode": "chip", "country": HOME,
                          "device_id": ""}.items():  # fmt: skip
        assert (tx[column] == value).all(), column
    np.testing.assert_array_equal(tx["card_token"], tx["customer_id"])


def test_realistic_attributes_are_drawn_sensibly(realistic_run: SimulatedData) -> None:
    tx = realistic_run.transactions
    genuine = tx[tx["fraud_scenario"] == 0]
    shares = genuine["channel"].value_counts(normalize=True)
    assert shares["pos"] > 0.6
    assert 0.1 < shares["ecom"] < 0.3
    assert (genuine["country"] == HOME).mean() > 0.7
    assert genuine["mcc"].nunique() >= 10
    assert (genuine.loc[genuine["channel"] == "atm", "mcc"] == "6011").all()
    assert (genuine.loc[genuine["channel"] == "pos", "device_id"] == "").all()
    online = genuine[genuine["channel"] == "ecom"]
    assert (online["device_id"] != "").all()
    assert online.groupby("card_token")["device_id"].nunique().max() == 1, "one own device per customer"
    assert set(online["entry_mode"]) == {"credential_on_file", "manual"}
    shop = genuine[genuine["channel"] == "pos"]
    assert (shop.loc[shop["entry_mode"] == "contactless", "amount"] <= 50.0).all()
    assert (genuine.loc[genuine["country"] == "GB", "currency"] == "GBP").all()


def test_every_row_is_a_valid_contract_transaction(realistic_run: SimulatedData) -> None:
    tx = realistic_run.transactions
    sample = pd.concat([tx[tx["fraud_scenario"] > 3], tx.sample(2_000, random_state=0)])
    for record in sample.drop(columns=["is_fraud", "fraud_scenario"]).to_dict(orient="records"):
        Transaction.model_validate({**record, "timestamp": record["timestamp"].to_pydatetime()})


def test_cnp_bursts_are_quick_online_abroad_at_new_merchants(realistic_run: SimulatedData) -> None:
    bursts = events(realistic_run, 4)
    assert len(bursts) > 60
    for burst in bursts:
        assert burst["card_token"].nunique() == 1
        assert (burst["channel"] == Channel.ECOM.value).all()
        assert (burst["entry_mode"] == EntryMode.MANUAL.value).all()
        assert (burst["country"] != HOME).all()
        gaps = burst["timestamp"].diff().dt.total_seconds().iloc[1:]
        assert (gaps <= BURST_GAP_MAX_S).all(), "payments of a burst come within minutes"
        assert burst["amount"].iloc[0] <= 2.0, "a small test payment comes first"
        history = genuine_history(realistic_run, burst["card_token"].iloc[0])
        assert not burst["terminal_id"].isin(history["terminal_id"]).any(), "merchants new to the card"
        assert not burst["device_id"].isin(history["device_id"]).any()
    complete = [b for b in bursts if b["timestamp"].iloc[-1] < realistic_run.transactions["timestamp"].iloc[-1]]
    assert sum(len(b) >= BURST_MIN_SIZE for b in complete) >= 0.9 * len(complete)


def test_account_takeovers_bring_a_new_device_and_country_then_climbing_amounts(
    realistic_run: SimulatedData,
) -> None:
    takeovers = events(realistic_run, 5)
    assert len(takeovers) > 40
    low, high = TAKEOVER_NOISE
    for takeover in takeovers:
        card = takeover["card_token"].iloc[0]
        assert takeover["card_token"].nunique() == 1
        assert takeover["country"].nunique() == 1
        assert (takeover["channel"] == Channel.ECOM.value).all()
        assert (takeover["entry_mode"] == EntryMode.CREDENTIAL_ON_FILE.value).all()
        history = genuine_history(realistic_run, card)
        assert takeover["country"].iloc[0] not in set(history["country"])
        assert takeover["device_id"].iloc[0] not in set(history["device_id"])
        amounts = takeover["amount"].to_numpy()
        assert (np.diff(amounts) > 0).all(), amounts
        if len(amounts) >= 3:
            assert amounts[-1] >= amounts[0] * TAKEOVER_GROWTH ** (len(amounts) - 1) * low / high * 0.99


@pytest.mark.parametrize("scenario", [4, 5])
def test_injected_frauds_are_labelled_fraud(realistic_run: SimulatedData, scenario: int) -> None:
    rows = realistic_run.transactions[realistic_run.transactions["fraud_scenario"] == scenario]
    assert rows["is_fraud"].all()
    labels = realistic_run.labels.set_index("transaction_id")
    assert labels.loc[rows["transaction_id"], "is_fraud"].all()


def test_no_device_fingerprint_reads_as_a_card_number() -> None:
    # Fingerprints were 16 hex digits; about one in 20,000 was all decimal and Luhn-valid, so downstream screening
    # masked it (and logged it) as a card number.
    import numpy as np

    from ingest.contract import holds_card_number
    from ingest.simulator.merchants import device_names

    names = device_names(200_000, np.random.default_rng(7))
    assert len(set(names)) == len(names)
    assert not [name for name in names if holds_card_number(name)]
