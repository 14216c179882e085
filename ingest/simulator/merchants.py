"""Merchant attributes of the realistic preset: what each terminal sells, how cards are presented there, where
it is, and the devices customers shop online with.

Each terminal is a merchant: mostly shops with a card reader, some online shops, a few mail/telephone-order
merchants and cash machines. Physical merchants are nearly all in the home country (some across a border);
online shops are spread over more countries. Genuine transactions take their merchant's attributes, an entry
mode that fits the channel (contactless for small in-shop amounts), and, online, the customer's own device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ingest.contract import Channel
from ingest.simulator import vocabulary as v
from ingest.simulator.batch import Batch

#: Share of terminals by channel: shops, online shops, mail/telephone order, cash machines.
CHANNEL_SHARES = {Channel.POS.value: 0.72, Channel.ECOM.value: 0.20, Channel.MOTO.value: 0.03, Channel.ATM.value: 0.05}
SHOP_MCCS = {"5411": 0.30, "5812": 0.18, "5541": 0.12, "5912": 0.07, "5311": 0.08, "5651": 0.08, "5732": 0.05,
             "4111": 0.05, "7011": 0.03, "5999": 0.04}  # fmt: skip
ONLINE_MCCS = {"5999": 0.20, "5732": 0.15, "5651": 0.15, "4722": 0.10, "5815": 0.15, "5942": 0.10, "5816": 0.15}
SHOP_COUNTRIES = {"BE": 0.90, "NL": 0.03, "FR": 0.03, "DE": 0.02, "LU": 0.02}
ONLINE_COUNTRIES = {"BE": 0.30, "NL": 0.12, "FR": 0.10, "DE": 0.10, "LU": 0.03, "GB": 0.10, "IE": 0.08, "ES": 0.04,
                    "US": 0.08, "RO": 0.02, "BR": 0.01, "NG": 0.02}  # fmt: skip
#: In shops, amounts up to this are paid contactless with probability CONTACTLESS_SHARE.
CONTACTLESS_LIMIT = 50.0
CONTACTLESS_SHARE = 0.75
MAGSTRIPE_SHARE = 0.02
#: Online, the share of payments with a card stored at the merchant (the rest are typed in).
CREDENTIAL_ON_FILE_SHARE = 0.6


@dataclass(frozen=True)
class Merchants:
    """Per-terminal channel, category and country codes (into :mod:`ingest.simulator.vocabulary`)."""

    channel: npt.NDArray[np.int8]
    mcc: npt.NDArray[np.int8]
    country: npt.NDArray[np.int8]

    def online_abroad(self) -> npt.NDArray[np.int32]:
        """Online shops outside the home country: where stolen card details get used."""
        return np.flatnonzero((self.channel == v.ECOM) & (self.country != v.HOME_COUNTRY)).astype(np.int32)


def _draw_codes(
    shares: dict[str, float], vocabulary: tuple[str, ...], size: int, rng: np.random.Generator
) -> npt.NDArray[np.int8]:
    """``size`` codes into ``vocabulary``, each value drawn with its share (shares need not sum to 1)."""
    codes = np.array([vocabulary.index(k) for k in shares], dtype=np.int8)
    weights = np.array(list(shares.values()))
    return codes[rng.choice(codes.shape[0], size=size, p=weights / weights.sum())]


def draw_merchants(n_terminals: int, rng: np.random.Generator) -> Merchants:
    """Channel, category and country of every terminal."""
    channel = _draw_codes(CHANNEL_SHARES, v.CHANNELS, n_terminals, rng)
    online = (channel == v.ECOM) | (channel == v.MOTO)
    mcc = np.where(
        online, _draw_codes(ONLINE_MCCS, v.MCCS, n_terminals, rng), _draw_codes(SHOP_MCCS, v.MCCS, n_terminals, rng)
    ).astype(np.int8)
    mcc[channel == v.ATM] = v.MCCS.index("6011")
    country = np.where(
        online,
        _draw_codes(ONLINE_COUNTRIES, v.COUNTRIES, n_terminals, rng),
        _draw_codes(SHOP_COUNTRIES, v.COUNTRIES, n_terminals, rng),
    ).astype(np.int8)
    return Merchants(channel=channel, mcc=mcc, country=country)


def device_names(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct-looking device fingerprints ("dev-" and 16 hex digits, the first and the ninth letters, so
    that no run of digits in a fingerprint is long enough to read as a card number and be masked downstream)."""
    names = []
    for x in rng.integers(0, 2**63, size=count, dtype=np.int64):
        digits = f"{int(x):016x}"
        names.append(f"dev-{'abcdef'[int(x) % 6]}{digits[1:8]}{'abcdef'[int(x) // 6 % 6]}{digits[9:]}")
    return names


def dress_genuine(batch: Batch, merchants: Merchants, rng: np.random.Generator) -> Batch:
    """Genuine transactions with their merchant's attributes, a fitting entry mode, and the customer's device
    online (device code ``1 + customer``)."""
    channel = merchants.channel[batch.terminal]
    country = merchants.country[batch.terminal]
    u = rng.random(len(batch))
    entry = np.full(len(batch), v.CHIP, dtype=np.int8)
    shop = channel == v.POS
    entry[shop & (batch.amount <= CONTACTLESS_LIMIT) & (u < CONTACTLESS_SHARE)] = v.CONTACTLESS
    entry[shop & (u >= 1.0 - MAGSTRIPE_SHARE)] = v.MAGSTRIPE
    ecom = channel == v.ECOM
    entry[ecom] = np.where(u[ecom] < CREDENTIAL_ON_FILE_SHARE, v.CREDENTIAL_ON_FILE, v.MANUAL)
    entry[channel == v.MOTO] = v.MANUAL
    device = np.where(ecom, batch.customer + 1, 0).astype(np.int32)
    return replace(
        batch,
        channel=channel,
        entry_mode=entry,
        country=country,
        currency=np.asarray(v.COUNTRY_CURRENCY, dtype=np.int8)[country],
        mcc=merchants.mcc[batch.terminal],
        device=device,
    )
