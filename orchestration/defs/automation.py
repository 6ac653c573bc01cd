"""Jobs, schedules and sensors of the code location.

Every run of `full_pipeline` covers a range of event days (the daily partitions of web events,
orchestration/partitions.py) in one run: the days that have new files, up to today. The
schedules, the landing sensor and `cdw run` compute that range; the UI asks for it (pick the
newest day, or a range to back-fill).
"""

import hashlib
from datetime import timedelta

import dagster as dg

from orchestration import partitions, settings
from orchestration.defs.dbt.assets import event_day_dbt_models
from orchestration.extract.contracts import contracts
from orchestration.extract.loader import source_files
from orchestration.files import atomic_write_bytes
from orchestration.governance.config import requests_dir
from orchestration.governance.erasure import ErasureError, read_request, request_erasure

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),  # partitioned by EVENT_DAYS, inferred from its assets
    description="Everything: extract -> dbt (staging, identity, marts) -> quality gate -> exports, "
    "for a range of event days (the days with new files, up to today).",
    tags={"dagster/max_retries": 1},  # run-level retry (after the step retries of the extract assets)
)

event_days = dg.define_asset_job(
    "event_days",
    selection=dg.AssetSelection.assets(*[c.table.split(".") for c in contracts().values() if c.partitioned])
    | dg.AssetSelection.assets(event_day_dbt_models),
    description="Load and stage the web events of one day (or a back-filled range of days): raw + the "
    "per-day dbt models, idempotent; the marts follow with the next full pipeline run.",
)


def landing_files_since(since: float) -> list[tuple[str, float, object]]:
    """(path under landing/, mtime, partition day or None) of the files modified after `since`."""
    landing = settings.landing_dir()
    found = []
    for contract in contracts().values():
        for path in source_files(contract, landing):
            mtime = path.stat().st_mtime
            if mtime > since:
                day = partitions.file_day(path) if contract.partitioned else None
                found.append((path.relative_to(landing).as_posix(), mtime, day))
    return found


def pipeline_run_request(new_files, today, run_key: str | None = None, **tags) -> dg.RunRequest:
    """One full-pipeline run covering the days of the new event files (at least today)."""
    days = [day for _, _, day in new_files if day is not None] + [today]
    return dg.RunRequest(run_key=run_key, tags={**partitions.range_tags(min(days), max(days)), **tags})


@dg.schedule(
    name="daily_full_pipeline",
    job=full_pipeline,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily full run at 03:00 UTC over the event days that received files since the last "
    "tick (late files of older days included) up to today. Turn it on in the UI.",
)
def daily_full_pipeline(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    since = (tick - timedelta(days=1)).timestamp()
    return pipeline_run_request(landing_files_since(since), partitions.last_day(tick))


@dg.schedule(
    name="hourly_event_days",
    job=event_days,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every hour: load and stage today's web event files (the today partition; unchanged "
    "files are skipped, so a quiet hour costs seconds).",
)
def hourly_event_days(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(partition_key=partitions.day_key(partitions.last_day(context.scheduled_execution_time)))


@dg.sensor(
    job=full_pipeline,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the pipeline when new files land in $CDW_HOME/landing/: one run per batch of "
    "new files (the run key names the files, so a file triggers once), over their event days.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    seen = float(context.cursor or 0)
    new_files = landing_files_since(seen)
    if not new_files:
        return dg.SkipReason("no new files in landing/")
    context.update_cursor(str(max(mtime for _, mtime, _ in new_files)))
    key = hashlib.sha1("\n".join(sorted(f"{f}@{m}" for f, m, _ in new_files)).encode()).hexdigest()[:16]
    return pipeline_run_request(new_files, partitions.last_day(), run_key=f"landing-{key}",
                                **{"cdw/new_files": str(len(new_files))})


@dg.sensor(
    job=full_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Erasure requests: a file dropped in $CDW_HOME/landing/requests/ (one email, phone or "
    "customer_id per line, or JSON {\"identifier\": ...}) is recorded in the tombstone ledger, the request "
    "file is deleted (it holds the identifier) and a run purges and rebuilds everything.",
)
def erasure_requests_sensor(context: dg.SensorEvaluationContext):
    """Each request file is deleted (it holds identifiers) only once every erasure it asks for is
    recorded and the run enforcing them is requested in this tick's result. A busy warehouse (or
    a missing CDW_ERASURE_KEY) stops the tick: that file and the later ones wait for the next
    tick, said in the skip reason or the log, while the erasures recorded before it get their run."""
    folder = requests_dir()
    files = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith(".")) if folder.exists() else []
    if not files:
        return dg.SkipReason("no erasure requests")
    done: list[str] = []
    handled: list[tuple] = []  # (request file, identifiers still to record: none once all are)
    waiting = None
    for path in files:
        try:
            identifiers = read_request(path.read_text(encoding="utf-8"))
        except ErasureError as exc:
            context.log.warning(f"erasure request {path.name} is not readable ({exc}); left in place")
            continue
        recorded = 0
        try:
            for identifier in identifiers:
                done.append(request_erasure(identifier, via="request_file")["erasure_id"])
                recorded += 1
        except ErasureError as exc:  # warehouse busy, key missing: this file and the rest wait
            waiting = f"erasure request {path.name} not processed yet: {exc}"
            if recorded:
                handled.append((path, identifiers[recorded:]))
            break
        handled.append((path, []))
    if not done:
        return dg.SkipReason(waiting or "no readable erasure requests")
    today = partitions.last_day()
    request = dg.RunRequest(run_key="erasure-" + "-".join(done),
                            tags={**partitions.range_tags(today, today), "cdw/erasures": str(len(done))})
    for path, left in handled:
        if left:  # recorded in part: only what is not recorded yet stays
            atomic_write_bytes(path, "".join(f"{i}\n" for i in left).encode("utf-8"))
        else:
            path.unlink()
    if waiting:
        context.log.info(waiting)
    return dg.SensorResult(run_requests=[request])
