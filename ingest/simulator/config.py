"""Settings of the simulator, and the named presets ("handbook", "realistic")."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ingest.simulator.errors import SimulatorError, UnknownPresetError

HANDBOOK_START: Final = datetime(2018, 4, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that decides a simulated stream; the same config (seed included) gives the same bytes.

    The defaults are the handbook's settings: 5,000 customers, 10,000 terminals on a 100 x 100 grid, a customer
    using terminals within radius 5, and the three handbook fraud scenarios. The "realistic" preset adds merchant
    categories, channels, entry modes, countries and devices, and two injected fraud patterns (card-not-present
    bursts on stolen cards, account takeovers).

    >>> cfg = SimulatorConfig.preset("handbook", days=7, seed=1)
    >>> (cfg.name, cfg.days, cfg.n_customers)
    ('handbook', 7, 5000)
    """

    name: str = "handbook"
    seed: int = 0
    days: int = 183
    start: datetime = HANDBOOK_START
    n_customers: int = 5_000
    n_terminals: int = 10_000
    radius: float = 5.0
    # Handbook fraud scenarios (ids 1, 2, 3), applied in this order.
    large_amount_threshold: float = 220.0
    compromised_terminals_per_day: int = 2
    terminal_compromise_days: int = 28
    compromised_cards_per_day: int = 3
    card_compromise_days: int = 14
    card_compromise_amount_factor: float = 5.0
    # Realistic extras: merchant attributes and two injected patterns (ids 4 and 5); off in the handbook preset.
    merchant_attributes: bool = False
    cnp_bursts_per_day: float = 0.0
    account_takeovers_per_day: float = 0.0
    # Labels: frauds are reported after a delay; genuine transactions are confirmed when their chargeback window
    # (the maturity) closes, so a consumer of the label stream knows every label is final at maturity.
    label_maturity_days: float = 45.0
    genuine_labels: bool = True
    fast_report_share: float = 0.3
    chargeback_median_days: float = 10.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise SimulatorError("start must carry a time zone, e.g. datetime(2018, 4, 1, tzinfo=UTC)")
        positive = {
            "days": self.days,
            "n_customers": self.n_customers,
            "n_terminals": self.n_terminals,
            "radius": self.radius,
            "terminal_compromise_days": self.terminal_compromise_days,
            "card_compromise_days": self.card_compromise_days,
            "label_maturity_days": self.label_maturity_days,
            "chargeback_median_days": self.chargeback_median_days,
        }
        for name, value in positive.items():
            if not value > 0:
                raise SimulatorError(f"{name} must be positive, got {value!r}")
        non_negative = {
            "seed": self.seed,
            "compromised_terminals_per_day": self.compromised_terminals_per_day,
            "compromised_cards_per_day": self.compromised_cards_per_day,
            "cnp_bursts_per_day": self.cnp_bursts_per_day,
            "account_takeovers_per_day": self.account_takeovers_per_day,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise SimulatorError(f"{name} must not be negative, got {value!r}")
        if self.compromised_terminals_per_day > self.n_terminals:
            raise SimulatorError("compromised_terminals_per_day cannot exceed n_terminals")
        if self.compromised_cards_per_day > self.n_customers:
            raise SimulatorError("compromised_cards_per_day cannot exceed n_customers")
        if not 0.0 <= self.fast_report_share <= 1.0:
            raise SimulatorError(f"fast_report_share must lie in [0, 1], got {self.fast_report_share!r}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SimulatorConfig:
        """The named preset, with any field overridden (``days=60, seed=0``)."""
        try:
            base = PRESETS[name]
        except KeyError:
            raise UnknownPresetError(f"unknown simulator preset {name!r}; choose one of {sorted(PRESETS)}") from None
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise SimulatorError(f"unknown simulator settings {unknown}; see SimulatorConfig for the fields")
        return dataclasses.replace(base, **overrides)

    def to_json(self) -> str:
        """A canonical JSON form, stored in the written files so a stream says how it was made."""
        values = dataclasses.asdict(self)
        values["start"] = self.start.isoformat()
        return json.dumps(values, sort_keys=True, separators=(",", ":"))


PRESETS: Final[dict[str, SimulatorConfig]] = {
    "handbook": SimulatorConfig(name="handbook"),
    "realistic": SimulatorConfig(
        name="realistic", merchant_attributes=True, cnp_bursts_per_day=2.0, account_takeovers_per_day=1.0
    ),
}
