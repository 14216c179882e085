"""Monitoring's history, for the dashboard and for anyone who asks later: every drift window's test values,
per-day roll-ups of them, the score's distribution per day, and the performance figures per day.

The roll-ups are kept up to date as windows are written (one upsert per column and window), so a page that
shows months reads one row per column and day instead of every window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

from lifecycle.registry import Database
from monitoring.drift import WindowReport
from monitoring.performance import METRICS, DailyPerformance

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS drift_windows (
        model TEXT NOT NULL, window_name TEXT NOT NULL, end_row BIGINT NOT NULL, day TEXT NOT NULL,
        start_time TEXT, end_time TEXT, rows_count BIGINT NOT NULL, column_name TEXT NOT NULL, test TEXT NOT NULL,
        statistic DOUBLE PRECISION NOT NULL, p_value DOUBLE PRECISION NOT NULL,
        adjusted_p_value DOUBLE PRECISION NOT NULL, js_distance DOUBLE PRECISION NOT NULL,
        linf DOUBLE PRECISION NOT NULL, psi DOUBLE PRECISION NOT NULL, drifted INTEGER NOT NULL,
        PRIMARY KEY (model, window_name, end_row, column_name))""",
    "CREATE INDEX IF NOT EXISTS drift_windows_by_column ON drift_windows (model, column_name, day)",
    """CREATE TABLE IF NOT EXISTS drift_daily (
        model TEXT NOT NULL, window_name TEXT NOT NULL, day TEXT NOT NULL, column_name TEXT NOT NULL,
        grp TEXT NOT NULL, windows BIGINT NOT NULL, drifted_windows BIGINT NOT NULL,
        max_js DOUBLE PRECISION NOT NULL, sum_js DOUBLE PRECISION NOT NULL, max_psi DOUBLE PRECISION NOT NULL,
        min_adjusted_p DOUBLE PRECISION NOT NULL, PRIMARY KEY (model, window_name, day, column_name))""",
    """CREATE TABLE IF NOT EXISTS score_daily (
        model TEXT NOT NULL, day TEXT NOT NULL, bin INTEGER NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (model, day, bin))""",
    """CREATE TABLE IF NOT EXISTS performance_daily (
        model TEXT NOT NULL, day TEXT NOT NULL, transactions BIGINT NOT NULL, labelled BIGINT NOT NULL,
        frauds BIGINT NOT NULL, mature INTEGER NOT NULL, complete INTEGER NOT NULL,
        expected_frauds DOUBLE PRECISION,
        realised_auc_roc DOUBLE PRECISION, realised_average_precision DOUBLE PRECISION,
        realised_card_precision_at_100 DOUBLE PRECISION,
        estimated_auc_roc DOUBLE PRECISION, estimated_average_precision DOUBLE PRECISION,
        estimated_card_precision_at_100 DOUBLE PRECISION,
        PRIMARY KEY (model, day))""",
)


class MonitoringHistory:
    """Reads and writes the history tables of one database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        with database.transaction() as statements:
            for statement in _SCHEMA:
                statements.execute(statement)

    def record_window(self, model: str, report: WindowReport) -> None:
        day = (report.end_time or "")[:10] or "unknown"
        with self.database.transaction() as statements:
            statements.executemany(
                "INSERT INTO drift_windows (model, window_name, end_row, day, start_time, end_time, rows_count, "
                "column_name, test, statistic, p_value, adjusted_p_value, js_distance, linf, psi, drifted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    [
                        model, report.window, report.end_row, day, report.start_time, report.end_time, report.rows,
                        c.column, c.test, c.statistic, c.p_value, c.adjusted_p_value, c.js_distance, c.linf, c.psi,
                        int(c.drifted),
                    ]
                    for c in report.columns
                ],
            )  # fmt: skip
            statements.executemany(
                "INSERT INTO drift_daily (model, window_name, day, column_name, grp, windows, drifted_windows, "
                "max_js, sum_js, max_psi, min_adjusted_p) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model, window_name, day, column_name) DO UPDATE SET "
                "windows = drift_daily.windows + 1, "
                "drifted_windows = drift_daily.drifted_windows + excluded.drifted_windows, "
                "max_js = CASE WHEN excluded.max_js > drift_daily.max_js "
                "THEN excluded.max_js ELSE drift_daily.max_js END, "
                "sum_js = drift_daily.sum_js + excluded.sum_js, "
                "max_psi = CASE WHEN excluded.max_psi > drift_daily.max_psi "
                "THEN excluded.max_psi ELSE drift_daily.max_psi END, "
                "min_adjusted_p = CASE WHEN excluded.min_adjusted_p < drift_daily.min_adjusted_p "
                "THEN excluded.min_adjusted_p ELSE drift_daily.min_adjusted_p END",
                [
                    [model, report.window, day, c.column, c.group, int(c.drifted), c.js_distance, c.js_distance,
                     c.psi, c.adjusted_p_value]
                    for c in report.columns
                ],
            )  # fmt: skip

    def add_score_counts(self, model: str, day: str, counts: npt.NDArray[Any]) -> None:
        with self.database.transaction() as statements:
            statements.executemany(
                "INSERT INTO score_daily (model, day, bin, count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model, day, bin) DO UPDATE SET count = score_daily.count + excluded.count",
                [[model, day, int(index), int(counts[index])] for index in counts.nonzero()[0]],
            )

    def record_performance(self, model: str, day: DailyPerformance) -> None:
        values = [day.realised.get(m) for m in METRICS] + [day.estimated.get(m) for m in METRICS]
        metric_columns = [f"realised_{m}" for m in METRICS] + [f"estimated_{m}" for m in METRICS]
        columns = ["model", "day", "transactions", "labelled", "frauds", "mature", "complete", "expected_frauds"]
        columns += metric_columns
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        self.database.execute(
            f"INSERT INTO performance_daily ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (model, day) DO UPDATE SET {updates}",
            [model, day.day, day.transactions, day.labelled, day.frauds, int(day.mature), int(day.complete),
             day.expected_frauds, *values],
        )  # fmt: skip

    # Reads, for the dashboard.

    def models(self) -> list[str]:
        rows = self.database.query(
            "SELECT DISTINCT model FROM drift_daily UNION SELECT DISTINCT model FROM performance_daily"
        )
        return sorted(str(r[0]) for r in rows)

    def drift_daily(self, model: str, window: str | None, since: str, until: str) -> list[dict[str, Any]]:
        clause, params = _window_clause(window)
        rows = self.database.query(
            "SELECT day, window_name, column_name, grp, windows, drifted_windows, max_js, sum_js, max_psi, "
            f"min_adjusted_p FROM drift_daily WHERE model = ? AND day >= ? AND day <= ? {clause} "
            "ORDER BY day, column_name, window_name",
            [model, since, until, *params],
        )
        keys = ("day", "window", "column", "group", "windows", "drifted_windows", "max_js", "sum_js", "max_psi",
                "min_adjusted_p")  # fmt: skip
        out = [dict(zip(keys, row, strict=True)) for row in rows]
        for item in out:
            item["mean_js"] = item.pop("sum_js") / max(item["windows"], 1)
        return out

    def drift_windows(
        self, model: str, column: str, window: str | None, since: str, until: str, limit: int
    ) -> list[dict[str, Any]]:
        clause, params = _window_clause(window)
        rows = self.database.query(
            "SELECT window_name, end_row, start_time, end_time, rows_count, test, statistic, p_value, "
            "adjusted_p_value, js_distance, linf, psi, drifted FROM drift_windows "
            f"WHERE model = ? AND column_name = ? AND day >= ? AND day <= ? {clause} "
            "ORDER BY end_time DESC, end_row DESC LIMIT ?",
            [model, column, since, until, *params, int(limit)],
        )
        keys = ("window", "end_row", "start_time", "end_time", "rows", "test", "statistic", "p_value",
                "adjusted_p_value", "js_distance", "linf", "psi", "drifted")  # fmt: skip
        return [dict(zip(keys, row, strict=True)) | {"drifted": bool(row[-1])} for row in reversed(rows)]

    def score_counts(self, model: str, since: str, until: str) -> dict[int, int]:
        rows = self.database.query(
            "SELECT bin, SUM(count) FROM score_daily WHERE model = ? AND day >= ? AND day <= ? GROUP BY bin",
            [model, since, until],
        )
        return {int(b): int(c) for b, c in rows}

    def performance(self, model: str, since: str, until: str) -> list[dict[str, Any]]:
        columns = ["day", "transactions", "labelled", "frauds", "mature", "complete", "expected_frauds"]
        columns += [f"realised_{m}" for m in METRICS] + [f"estimated_{m}" for m in METRICS]
        rows = self.database.query(
            f"SELECT {', '.join(columns)} FROM performance_daily "
            "WHERE model = ? AND day >= ? AND day <= ? ORDER BY day",
            [model, since, until],
        )
        out = []
        for row in rows:
            item: dict[str, Any] = dict(zip(columns, row, strict=True))
            item["mature"], item["complete"] = bool(item["mature"]), bool(item["complete"])
            item["realised"] = {m: item.pop(f"realised_{m}") for m in METRICS}
            item["estimated"] = {m: item.pop(f"estimated_{m}") for m in METRICS}
            out.append(item)
        return out

    def latest_day(self, model: str) -> str | None:
        rows = self.database.query(
            "SELECT MAX(day) FROM (SELECT day FROM drift_daily WHERE model = ? UNION ALL "
            "SELECT day FROM performance_daily WHERE model = ?) AS days",
            [model, model],
        )
        return None if not rows or rows[0][0] is None else str(rows[0][0])


def _window_clause(window: str | None) -> tuple[str, Sequence[Any]]:
    return ("AND window_name = ?", [window]) if window else ("", [])
