"""Monitoring: run history from dbt's artifacts, checks, grouped alerts, a report."""

from tooling.monitor.record import RecordOutcome, record_run

__all__ = ["RecordOutcome", "record_run"]
