"""Run the pipeline through Dagster from Python (the CLI and the tests use this)."""

from __future__ import annotations

from datetime import date

import duckdb
from dagster import DagsterInstance, ExecuteInProcessResult

from orchestration import partitions, settings
from orchestration.warehouse import connect


def pending_event_days() -> tuple[date, date]:
    """The event days a run has to cover: from the oldest day with a file the warehouse does not
    hold yet (a cold warehouse: the oldest file) or with raw rows not staged yet, up to today;
    only today when nothing is new."""
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import pending_days

    today = partitions.last_day()
    warehouse = settings.warehouse_path()
    days: list[date] = []
    con = connect(warehouse, read_only=True) if warehouse.exists() else duckdb.connect()
    with con:
        for contract in contracts().values():
            if contract.partitioned:
                days += pending_days(con, contract, settings.landing_dir())
        days += partitions.unstaged_days(con)  # in raw, never staged: a run stopped before dbt
    return (min(days + [today]), today)


def run_pipeline(job_name: str = "full_pipeline", log_level: str = "DEBUG",
                 days: tuple[date, date] | None = None, rebuild: bool = False) -> ExecuteInProcessResult:
    """Execute a job in this process against the DAGSTER_HOME under CDW_HOME, so the run shows up
    in the UI's run history like any other. `days` (first, last) is the range of event days the
    run covers (a single-run backfill); by default the days with new files up to today. `rebuild`:
    build the warehouse even when nothing it reads changed (orchestration/defs/dbt/unchanged.py)."""
    settings.prepare_home()
    from orchestration.defs.dbt.project import prepare_manifest

    prepare_manifest()
    from orchestration.definitions import defs
    from orchestration.defs.dbt.unchanged import REBUILD_TAG

    job = defs.resolve_job_def(job_name)
    start, end = days or pending_event_days()
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={**partitions.range_tags(start, end), **({REBUILD_TAG: "always"} if rebuild else {})},
        )
