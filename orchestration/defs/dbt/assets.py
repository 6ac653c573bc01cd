"""dbt models as Dagster assets: `dbt build`, so dbt tests become asset checks.

Asset keys are <schema>/<model> (raw/<source> for sources, so they line up with the extract
assets); groups come from the model's folder: staging, identity (intermediate/identity), marts.
Adding a model needs no Python.
"""


import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration import partitions
from orchestration.defs.dbt.project import dbt_project


# dbt top folder -> Dagster group (the layers of DESIGN.md's flow)
LAYER_GROUPS = {
    "staging": "staging",
    "intermediate": "identity",
    "intermediate/analytics": "marts",  # helpers of the analytics marts, not identity
    "intermediate/governance": "governance",
    "marts": "marts",
}


class LayerTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props.get("alias") or dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # fqn = [project, top folder, subfolder..., model]; seeds and tests sit with staging
        fqn = dbt_resource_props.get("fqn") or []
        folders = fqn[1:-1]
        for depth in (2, 1):  # the most specific mapping wins: intermediate/analytics before intermediate
            key = "/".join(folders[:depth])
            if len(folders) >= depth and key in LAYER_GROUPS:
                return LAYER_GROUPS[key]
        return "staging"


TRANSLATOR = LayerTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project().manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    exclude=f"tag:{partitions.PARTITIONED_DBT_TAG}",
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Staging, identity resolution and marts, built and tested by `dbt build`."""
    yield from _build(context, dbt, [])


@dbt_assets(
    manifest=dbt_project().manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    select=f"tag:{partitions.PARTITIONED_DBT_TAG}",
    partitions_def=partitions.EVENT_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="event_day_dbt_models",
)
def event_day_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Event models built per delivery day (incremental, delete+insert of the run's days)."""
    window = context.partition_time_window
    # the window reaches the models as env vars (dbt's partial parsing survives them, not --vars)
    os.environ["CDW_EVENT_DAYS_START"] = window.start.date().isoformat()
    os.environ["CDW_EVENT_DAYS_END"] = window.end.date().isoformat()
    try:
        yield from _build(context, dbt, [])
    finally:
        for name in ("CDW_EVENT_DAYS_START", "CDW_EVENT_DAYS_END"):
            os.environ.pop(name, None)


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str]):
    try:
        # row counts are read after dbt exits (dagster-dbt waits for DuckDB's writer to finish)
        target = Path(dbt_project().target_path) / f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}"
        yield from dbt.cli(["build", *args], context=context, target_path=target).stream().fetch_row_counts()
    finally:
        release_dbt_duckdb_handle()


def release_dbt_duckdb_handle() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in this process for the row counts.

    DuckDB allows one instance per file and configuration in a process; the in-process steps
    that follow (quality gate, exports) open the warehouse themselves and would otherwise fail
    with "different configuration than existing connections" (and a later dbt subprocess could
    not take the write lock).
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:  # another adapter: nothing held
        return
    with manager._LOCK:
        if manager._ENV is not None:
            manager._ENV.close()
            manager._ENV = None


def dbt_resource() -> DbtCliResource:
    # the dbt of this environment, even when the venv is not activated (e.g. `.venv/bin/cdw run`)
    exe = Path(sys.executable).parent / "dbt"
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=str(exe) if exe.exists() else "dbt")
