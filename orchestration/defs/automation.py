"""Jobs, schedules and sensors of the code location."""


import dagster as dg

from orchestration import settings
from orchestration.extract.contracts import contracts
from orchestration.extract.loader import source_files

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Everything: extract -> dbt (staging, identity, marts) -> quality gate -> exports.",
)

daily_full_pipeline = dg.ScheduleDefinition(
    name="daily_full_pipeline",
    job=full_pipeline,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily full run at 03:00 UTC (turn it on in the UI or with `dagster schedule start`).",
)


@dg.sensor(
    job=full_pipeline,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the pipeline when new files land in $CDW_HOME/landing/ (one run per new set of files).",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    landing = settings.landing_dir()
    seen = float(context.cursor or 0)
    newest = seen
    new_files = []
    for contract in contracts().values():
        for path in source_files(contract, landing):
            mtime = path.stat().st_mtime
            if mtime > seen:
                new_files.append(path.relative_to(landing).as_posix())
                newest = max(newest, mtime)
    if not new_files:
        return dg.SkipReason("no new files in landing/")
    context.update_cursor(str(newest))
    yield dg.RunRequest(run_key=f"landing-{newest}", tags={"cdw/new_files": str(len(new_files))})


@dg.sensor(
    job=full_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Erasure requests: a file dropped in $CDW_HOME/landing/requests/ (one email, phone or "
    "customer_id per line, or JSON {\"identifier\": ...}) is recorded in the tombstone ledger, the request "
    "file is deleted (it holds the identifier) and a run purges and rebuilds everything.",
)
def erasure_requests_sensor(context: dg.SensorEvaluationContext):
    from orchestration.governance.config import requests_dir
    from orchestration.governance.erasure import ErasureError, request_erasure

    folder = requests_dir()
    files = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith(".")) if folder.exists() else []
    if not files:
        return dg.SkipReason("no erasure requests")
    done = []
    for path in files:
        text = path.read_text(encoding="utf-8").strip()
        try:
            import json

            identifiers = [json.loads(text)["identifier"]] if text.startswith("{") else [
                line.strip() for line in text.splitlines() if line.strip()]
            erasure_ids = [request_erasure(i, via="request_file")["erasure_id"] for i in identifiers]
        except ErasureError as exc:  # key missing, warehouse busy: try again next tick
            return dg.SkipReason(f"erasure request {path.name} not processed yet: {exc}")
        except (ValueError, KeyError):
            context.log.warning(f"erasure request {path.name} is not readable (one identifier per line or "
                                "JSON {\"identifier\": ...}); left in place")
            continue
        path.unlink()
        done.extend(erasure_ids)
    if not done:
        return dg.SkipReason("no readable erasure requests")
    yield dg.RunRequest(run_key="erasure-" + "-".join(done), tags={"cdw/erasures": str(len(done))})
