"""The rollout step: the gated challenger goes to production through the deployments API with the admin's key,
as an operator would do it - shadow (scored on the side, never answered with), then canary (answers for a
sticky share of cards under guardrails), then promoted to champion (in the registry, for every process).

The online channel's traffic keeps flowing through each phase: the second third of its day under shadow, the
last third under canary.
"""

from __future__ import annotations

import time

from scoring_api.demo.context import DemoContext, StepResult
from scoring_api.demo.traffic import api_phase, client, send
from scoring_api.errors import DemoError


def step_rollout(context: DemoContext) -> StepResult:
    from scoring_api.client import ApiError

    assert context.challenger is not None, "the challenger step runs first"
    options = context.options
    challenger = context.challenger.content_id
    figures = context.rollout
    start = time.perf_counter()
    sent = 0
    with client(context, "admin") as admin, client(context, "scorer") as scorer:
        try:
            deployment = admin.start_shadow(challenger)
            if deployment.shadow is None or deployment.shadow.content_id != challenger:
                raise DemoError(f"the service did not take {challenger} as shadow: {deployment}")
            shadowed = send(scorer, api_phase(context, 1, 3), options.api_batch)
            admin.stop_shadow()
            figures.shadow_scored = shadowed.decided
            admin.start_canary(challenger, options.canary_share)
            canaried = send(scorer, api_phase(context, 2, 3), options.api_batch)
            figures.canary_answered = canaried.roles.get("canary", 0)
            figures.champion_answered_during_canary = canaried.roles.get("champion", 0)
            promoted = admin.promote_canary()
        except ApiError as error:
            events = "; ".join(f"{e.action} {e.reason}".strip() for e in admin.deployment_history(limit=10))
            raise DemoError(f"the challenger's rollout stopped: {error} (latest deployment events: {events})") from None
        figures.promoted = promoted.champion.content_id == challenger
        figures.champion_after = promoted.champion.content_id
        figures.deployment_events = [
            f"{e.action}{' (automatic)' if e.automatic else ''}: {e.content_id or e.previous_content_id or ''}"
            for e in reversed(admin.deployment_history(limit=20))
        ]
        sent = shadowed.sent + canaried.sent
    for phase in (shadowed, canaried):
        context.api.add(phase)
    if not figures.promoted:
        raise DemoError(f"after promotion the service answers with {figures.champion_after}, not {challenger}")
    context.content_id = challenger
    note = (
        f"shadow over {figures.shadow_scored:,} transactions, then canary on {options.canary_share:.0%} of cards "
        f"({figures.canary_answered:,} answered by the canary, {figures.champion_answered_during_canary:,} by the "
        f"champion), then promoted: champion is now {challenger[:19]}"
    )
    return StepResult("shadow, canary, promote", sent, time.perf_counter() - start, note, "transactions")
