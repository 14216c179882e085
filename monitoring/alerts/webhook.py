"""Paging: a new or escalated alert is POSTed as JSON to a webhook (a chat channel, an on-call pager).

Standard library HTTP (``urllib.request``) with a timeout: a slow or failing pager never stops monitoring, and
its failure is not swallowed either: the alert's history records it (``page_failed``, with the reason).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Final

from pydantic import SecretStr

from monitoring.alerts.model import Alert, Severity
from monitoring.errors import MonitoringError

DEFAULT_TIMEOUT_S: Final = 5.0


class PagingError(MonitoringError):
    """The webhook refused the page or could not be reached; the alert's history records it."""


class WebhookPager:
    """POSTs alerts of at least ``min_severity`` to ``url`` (kept secret: webhook URLs often carry a token)."""

    def __init__(
        self, url: SecretStr, *, min_severity: Severity = Severity.WARNING, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        if not url.get_secret_value().startswith(("http://", "https://")):
            raise MonitoringError("the alert webhook must be an http:// or https:// URL; check FRAUD_ALERT_WEBHOOK_URL")
        self._url = url
        self.min_severity = min_severity
        self.timeout_s = timeout_s

    def wants(self, alert: Alert) -> bool:
        return alert.severity.rank >= self.min_severity.rank

    def page(self, alert: Alert) -> None:
        """Send the alert; :class:`PagingError` (without the URL) when it did not go through."""
        body = {
            "id": alert.id,
            "severity": alert.severity.value,
            "state": alert.state.value,
            "kind": alert.kind.value,
            "title": alert.title,
            "summary": alert.summary,
            "model": alert.model,
            "window": alert.window,
            "occurrences": alert.occurrences,
            "last_seen": alert.last_seen,
        }
        request = urllib.request.Request(
            self._url.get_secret_value(),
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            raise PagingError(f"the alert webhook answered HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PagingError(f"the alert webhook could not be reached: {reason}") from None
        if not 200 <= status < 300:
            raise PagingError(f"the alert webhook answered HTTP {status}")

    def __repr__(self) -> str:
        return f"WebhookPager(url=SecretStr('**********'), min_severity={self.min_severity.value!r})"
