"""``python -m scoring_api.worker --slot K``: one worker process (what ``fraud worker --workers N`` starts)."""

from __future__ import annotations

from scoring_api.worker.cli import worker_app

if __name__ == "__main__":
    worker_app()
