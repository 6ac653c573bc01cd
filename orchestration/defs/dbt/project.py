"""The dbt project as Dagster sees it (one cached factory, manifest prepared on demand)."""


import os
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration import settings


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for sub in ("models", "macros", "seeds", "tests", "snapshots"):
        for p in (project_dir / sub).rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        p = project_dir / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


@cache
def dbt_project() -> DbtProject:
    settings.export_env()
    if settings.engine() != "duckdb":
        # the pipeline's identity steps (Dagster assets) run on DuckDB, and its loader, gate and
        # exports write and read the DuckDB file: on Spark, only the SQL layers build so far
        raise RuntimeError(f"CDW_ENGINE={settings.engine()}: the Dagster pipeline runs on DuckDB; build the dbt "
                           "project on Spark with orchestration.spark_engine.build_from_duckdb "
                           "(dbt_project/README.md, 'On Apache Spark')")
    # CDW_DBT_TARGET_PATH lets several checkouts' worth of work (parallel test sessions, a
    # benchmark beside a dev run) keep separate manifests and partial-parse state.
    project = DbtProject(
        project_dir=settings.DBT_PROJECT_DIR,
        profiles_dir=settings.DBT_PROJECT_DIR,
        target_path=os.environ.get("CDW_DBT_TARGET_PATH", "target"),
    )
    # `dagster dev` re-parses on every load; elsewhere (cdw run, tests, a deployment) parse only
    # when the manifest is missing or older than the project's files.
    manifest = project.manifest_path
    stale = not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir)
    if os.environ.get("DAGSTER_IS_DEV_CLI") or stale:
        project.preparer.prepare(project)
    return project
