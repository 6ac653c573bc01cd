"""Run the pipeline through Dagster from Python (the CLI and the tests use this)."""

from __future__ import annotations

from dagster import DagsterInstance, ExecuteInProcessResult

from orchestration import settings


def run_pipeline(job_name: str = "full_pipeline", log_level: str = "DEBUG") -> ExecuteInProcessResult:
    """Execute a job in this process against the DAGSTER_HOME under CDW_HOME, so the run shows up
    in the UI's run history like any other."""
    settings.export_env()
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
