"""``fraud demo``: the whole system end to end, as named steps that each report what they did.

Start (or reuse) the Kafka broker; simulate a history with late labels, the next day and the day after;
validate the history (``fraud validate``); train, evaluate and gate a champion on the older history and promote
it; start the scoring service (``fraud serve``) on the run's stores; stream the next day through Kafka to a
stream worker that scores it exactly once while a bank's online channel calls the API with the typed client;
train a challenger on the whole history and gate it against the champion; run it as shadow, then canary, and
promote it through the deployments API; inject a drift (a new fraud pattern and a broken feature) and show the
alerts raised; verify and export the audit trail and the champion's evidence bundle. Then print a summary (and
write it as JSON), and stop everything the run started. Every store lives in one run folder, named by the
``env.sh`` written into it.
"""

from __future__ import annotations

from scoring_api.demo.context import DemoContext, DemoOptions, StepResult, StreamFigures
from scoring_api.demo.run import STEPS, main, new_context, run_demo
from scoring_api.demo.summary import summary
from scoring_api.demo.workspace import DemoWorkspace
from scoring_api.errors import DemoError, DemoRefusedError

__all__ = [
    "STEPS",
    "DemoContext",
    "DemoError",
    "DemoOptions",
    "DemoRefusedError",
    "DemoWorkspace",
    "StepResult",
    "StreamFigures",
    "main",
    "new_context",
    "run_demo",
    "summary",
]
