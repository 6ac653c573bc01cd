"""The dbt project as Dagster sees it (one cached factory) and its manifest's preparation.

Importing the definitions only reads the manifest (`dagster dev` re-parses on every load, as
dagster-dbt's `prepare_if_dev` does). The commands that run things prepare it first:
`prepare_manifest` parses when the manifest is missing or older than the project's files, and
`run_pipeline`, `cdw prepare` (before `make ui` or a deployment's `dagster` processes) and the
test session call it."""


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
    project = DbtProject(
        project_dir=settings.DBT_PROJECT_DIR,
        profiles_dir=settings.DBT_PROJECT_DIR,
        target_path=settings.dbt_target_path(),
    )
    project.prepare_if_dev()  # `dagster dev` only
    if not project.manifest_path.exists():
        raise RuntimeError(f"no dbt manifest at {project.manifest_path}: run `cdw prepare` (or any `cdw` command "
                           "that runs the pipeline) before loading the definitions")
    return project


def prepare_manifest() -> Path:
    """Parse the dbt project (`dbt parse`) when its manifest is missing or older than the project's
    files; the manifest's path."""
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR,
                         target_path=settings.dbt_target_path())
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir):
        settings.export_env()
        project.preparer.prepare(project)
    return manifest
