"""The fixed vocabularies behind the simulator's text columns; code 0 of each is the contract's default."""

from __future__ import annotations

from typing import Final

from ingest.contract import Channel, EntryMode

CHANNELS: Final[tuple[str, ...]] = tuple(c.value for c in Channel)
ENTRY_MODES: Final[tuple[str, ...]] = tuple(e.value for e in EntryMode)
#: The issuer's home country first; then neighbours (border shopping), then farther merchant countries.
COUNTRIES: Final[tuple[str, ...]] = ("BE", "NL", "FR", "DE", "LU", "GB", "IE", "ES", "US", "RO", "BR", "NG")
CURRENCIES: Final[tuple[str, ...]] = ("EUR", "GBP", "USD", "RON", "BRL", "NGN")
#: The currency of each country in COUNTRIES, as a code into CURRENCIES.
COUNTRY_CURRENCY: Final[tuple[int, ...]] = (0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 4, 5)
#: Merchant category codes (ISO 18245); "5999" (miscellaneous retail) is the contract default.
MCCS: Final[tuple[str, ...]] = (
    "5999",  # miscellaneous retail
    "5411",  # grocery stores, supermarkets
    "5812",  # restaurants
    "5541",  # service stations
    "5912",  # pharmacies
    "5311",  # department stores
    "5651",  # clothing
    "5732",  # electronics
    "4111",  # local transport
    "7011",  # hotels
    "6011",  # automated cash withdrawal
    "4722",  # travel agencies
    "5815",  # digital goods: media
    "5942",  # book stores
    "5816",  # digital goods: games
)

POS: Final = CHANNELS.index(Channel.POS.value)
ECOM: Final = CHANNELS.index(Channel.ECOM.value)
MOTO: Final = CHANNELS.index(Channel.MOTO.value)
ATM: Final = CHANNELS.index(Channel.ATM.value)
CHIP: Final = ENTRY_MODES.index(EntryMode.CHIP.value)
CONTACTLESS: Final = ENTRY_MODES.index(EntryMode.CONTACTLESS.value)
MAGSTRIPE: Final = ENTRY_MODES.index(EntryMode.MAGSTRIPE.value)
MANUAL: Final = ENTRY_MODES.index(EntryMode.MANUAL.value)
CREDENTIAL_ON_FILE: Final = ENTRY_MODES.index(EntryMode.CREDENTIAL_ON_FILE.value)
HOME_COUNTRY: Final = 0
