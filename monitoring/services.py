"""The stores and services monitoring runs on, opened once per process from the settings: the database
(history and alerts), the alert workflow with its audit sink and pager."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.registry import Database, RegistryError
from monitoring.alerts import AlertActionSink, AlertService, AlertStore, Severity, WebhookPager
from monitoring.errors import MonitoringStoreError
from monitoring.history import MonitoringHistory
from monitoring.settings import MonitoringSettings


@dataclass(frozen=True)
class MonitoringServices:
    """What the monitors, the dashboard router and the ``fraud alerts`` commands share."""

    database: Database
    history: MonitoringHistory
    alerts: AlertService

    def close(self) -> None:
        self.database.close()


def open_database(url: str) -> Database:
    """The monitoring database (``sqlite:///path`` or ``postgresql://...``); errors never repeat the URL,
    which may hold a password."""
    try:
        return Database(url)
    except RegistryError as error:
        raise MonitoringStoreError(f"cannot open the monitoring database: {error}".replace(url, "<url>")) from None
    except Exception as error:  # the driver's own errors (a refused connection, bad credentials)
        raise MonitoringStoreError(
            f"cannot open the monitoring database ({type(error).__name__}); check FRAUD_MONITORING_URL"
        ) from None


def open_services(settings: MonitoringSettings, sink: AlertActionSink) -> MonitoringServices:
    """Open the database named by the settings and build the services on it; ``sink`` receives every alert
    action for audit."""
    database = open_database(settings.monitoring_url.get_secret_value())
    pager = None
    if settings.alert_webhook_url is not None:
        pager = WebhookPager(
            settings.alert_webhook_url,
            min_severity=Severity(settings.alert_webhook_min_severity),
            timeout_s=settings.alert_webhook_timeout_s,
        )
    alerts = AlertService(AlertStore(database), sink, pager=pager)
    return MonitoringServices(database=database, history=MonitoringHistory(database), alerts=alerts)
