"""Run-failure alerts: a line in $CDW_HOME/alerts/alerts.jsonl, and a webhook POST when
CDW_ALERT_WEBHOOK_URL is set. No PII: run id, job, failed steps and the error class only."""

import json
import os
import urllib.request
from datetime import UTC, datetime

import dagster as dg

from orchestration import settings


def write_alert(alert: dict) -> None:
    folder = settings.cdw_home() / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "alerts.jsonl").open("a") as fh:
        fh.write(json.dumps(alert, sort_keys=True) + "\n")
    url = os.environ.get("CDW_ALERT_WEBHOOK_URL")
    if url:
        req = urllib.request.Request(url, data=json.dumps(alert).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10):
            pass


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes an alert for every failed run (alerts/alerts.jsonl; webhook if CDW_ALERT_WEBHOOK_URL is set).",
)
def run_failure_alert(context: dg.RunFailureSensorContext):
    failed_steps = sorted({e.step_key for e in context.get_step_failure_events() if e.step_key})
    error = context.failure_event.event_specific_data.error if context.failure_event.event_specific_data else None
    write_alert({
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "failed_steps": failed_steps,
        "error": error.cls_name if error else None,
    })
