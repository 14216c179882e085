"""The decision configuration: ordered rules before the model, then score thresholds per segment.

A configuration is a document (pydantic, so the API publishes its schema) that is stored in versions with a
draft -> active lifecycle (:mod:`scoring_api.decisions.store`). Rules are checked in order; the first that
matches decides, whatever the score (an allow list approves, a deny list declines, a hard rule such as a large
amount or a blocked country sends to review or declines). A transaction that no rule decides gets the
thresholds of the first segment it belongs to (channel, merchant category), or the default thresholds. A
threshold left empty takes the answering model's own default, set by its training run's alert budget.

>>> config = DecisionConfig(rules=[Rule(name="blocked_country", action="decline", match=RuleMatch(countries=["KP"]))])
>>> config.rules[0].match.countries
['KP']
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ingest.contract import (
    MAX_AMOUNT,
    CardToken,
    Channel,
    CountryCode,
    DeviceId,
    Identifier,
    MerchantCategoryCode,
    looks_like_pan,
)
from ingest.validation.masking import mask_card_numbers
from scoring_api.records import Outcome

RuleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["blocked_country"])]
Score = Annotated[float, Field(ge=0.0, le=1.0)]
#: Longest allow or deny list one rule holds (longer lists belong in a dedicated list service).
MAX_LIST = 10_000


def _no_card_number(value: str) -> str:
    # A configuration is stored, recorded in the audit trail and shown to analysts: a card number in clear has no
    # place in it (a card is listed by its token, under card_tokens).
    if looks_like_pan(value):
        raise ValueError("this value looks like a card number; list cards by their token under card_tokens")
    return value


#: Identifiers a rule lists, never a card number in clear.
ListedId = Annotated[Identifier, AfterValidator(_no_card_number)]
ListedDevice = Annotated[DeviceId, AfterValidator(_no_card_number)]
#: Free text (descriptions, notes): a pasted card number is kept masked.
Note = Annotated[str, AfterValidator(mask_card_numbers)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleMatch(_Strict):
    """What a rule matches: every condition given must hold (lists match any of their values)."""

    card_tokens: list[CardToken] | None = Field(default=None, max_length=MAX_LIST)
    customer_ids: list[ListedId] | None = Field(default=None, max_length=MAX_LIST)
    terminal_ids: list[ListedId] | None = Field(default=None, max_length=MAX_LIST)
    device_ids: list[ListedDevice] | None = Field(default=None, max_length=MAX_LIST)
    countries: list[CountryCode] | None = Field(default=None, max_length=300)
    channels: list[Channel] | None = None
    mccs: list[MerchantCategoryCode] | None = Field(default=None, max_length=MAX_LIST)
    #: Matches amounts strictly above this value (in the transaction's currency).
    amount_above: float | None = Field(default=None, ge=0.0, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _something_to_match(self) -> Self:
        given = [name for name, value in self if value is not None]
        if not given:
            raise ValueError("a rule must match on at least one condition (a list, a country, an amount...)")
        empty = [name for name, value in self if isinstance(value, list) and not value]
        if empty:
            raise ValueError(f"empty lists match nothing: {empty}; leave them out instead")
        return self


class Rule(_Strict):
    """A named rule and the outcome it imposes when it matches."""

    name: RuleName
    action: Outcome
    match: RuleMatch
    description: Note = Field(default="", max_length=500)


class Thresholds(_Strict):
    """Scores at and above which a transaction goes to review, and is declined. Empty: the answering model's
    default (review at its training run's alert budget; no decline on the score alone)."""

    review: Score | None = None
    decline: Score | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.review is not None and self.decline is not None and self.decline < self.review:
            raise ValueError(f"the decline threshold {self.decline} is below the review threshold {self.review}")
        return self


class Segment(_Strict):
    """Thresholds for the transactions of some channels and/or merchant categories."""

    name: RuleName
    channels: list[Channel] | None = None
    mccs: list[MerchantCategoryCode] | None = Field(default=None, max_length=MAX_LIST)
    thresholds: Thresholds

    @model_validator(mode="after")
    def _selective(self) -> Self:
        if not self.channels and not self.mccs:
            raise ValueError(f"segment {self.name!r} selects nothing: give channels, mccs or both")
        return self


class DecisionConfig(_Strict):
    """Rules (in order), default thresholds, and per-segment thresholds (the first matching segment applies)."""

    rules: list[Rule] = Field(default_factory=list, max_length=1_000)
    thresholds: Thresholds = Thresholds()
    segments: list[Segment] = Field(default_factory=list, max_length=1_000)
    note: Note = Field(default="", max_length=2_000)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        for kind, names in (("rule", [r.name for r in self.rules]), ("segment", [s.name for s in self.segments])):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{kind} names must be unique; repeated: {repeated}")
        return self
