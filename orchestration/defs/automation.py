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
