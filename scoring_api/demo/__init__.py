"""``fraud demo``: the product end to end, as ordered steps that each report a count, a time and a rate.

Start (or reuse) the Kafka broker and its topics; simulate a history and the day after it (the realistic
preset); train a model on the history, gate it and promote it when blessed; produce the next day to Kafka;
score it with the stream worker (validation, online features warmed on the history, the served champion, decisions
committed to ``scores`` exactly once); then summarise the day from what the worker committed: counts,
throughput, latency, AUC and review load.
"""

from __future__ import annotations

from scoring_api.demo.context import DemoContext, DemoOptions, StepResult, StreamFigures
from scoring_api.demo.run import STEPS, main, run_demo, summary_table
from scoring_api.errors import DemoRefusedError

__all__ = [
    "STEPS",
    "DemoContext",
    "DemoOptions",
    "DemoRefusedError",
    "StepResult",
    "StreamFigures",
    "main",
    "run_demo",
    "summary_table",
]
