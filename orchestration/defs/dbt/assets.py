"""dbt models as Dagster assets: `dbt build`, so dbt tests become asset checks.

Asset keys are <schema>/<model> (raw/<source> for sources, so they line up with the extract
assets); groups come from the model's folder: staging, identity (intermediate/identity), marts.
Adding a model needs no Python.
"""


import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration import partitions, settings
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
    project = dbt_project()
    base = Path(project.project_dir) / project.target_path
    target = base / f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}"
    _share_partial_parse(base, target)
    try:
        invocation = dbt.cli(["build", *args], context=context, target_path=target)
        # Not `.stream().fetch_row_counts()`: on DuckDB it drains dbt in a worker thread while the
        # step's thread polls for results without sleeping (dagster's `imap`), a whole core of the
        # two spent spinning for as long as dbt runs (measured at scale L). The events are read
        # here instead (a blocking read of dbt's output), and the tables counted after dbt exits,
        # when its write lock is released.
        events, failure = [], None
        try:
            for event in invocation.stream():
                events.append(event)
        except Exception as exc:  # dbt failed (a model, a blocking test): what it did still counts
            failure = exc
    finally:
        release_dbt_duckdb_handle()
        _share_partial_parse(target, base)
    yield from with_row_counts(context, events, invocation.manifest)
    if failure is not None:
        raise failure


def _share_partial_parse(source: Path, dest: Path) -> None:
    """Carry dbt's partial-parse state between a step's own target folder and the project's.

    dbt re-parses the whole project (≈3 s) when its saved state was written for another profile,
    and the profile holds the warehouse path: state left by a run against another CDW_HOME (a test,
    the benchmark) or a parse for another target path made every step parse from scratch.
    Before dbt runs, the step starts from the project's state (dagster-dbt would copy the one of
    the default `target/` folder, whatever CDW_DBT_TARGET_PATH says); after, the state dbt just
    wrote becomes the project's, so the next step and run of this warehouse parse only what changed.
    """
    state, into = source / "partial_parse.msgpack", dest / "partial_parse.msgpack"
    if not state.exists() or (into.exists() and into.stat().st_mtime >= state.stat().st_mtime):
        return
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".partial_parse.{os.getpid()}.tmp"
    shutil.copy2(state, tmp)
    os.replace(tmp, into)  # atomic: a concurrent dbt never reads half a file


def with_row_counts(context, events: list, manifest: Mapping[str, Any]) -> list:
    """The dbt events, each materialized table's event carrying its row count (`dagster/row_count`,
    shown in the UI) as dagster-dbt's `fetch_row_counts` does; views are not counted."""
    nodes = manifest.get("nodes", {})
    out = []
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        for event in events:
            out.append(event)
            if not isinstance(event, (dg.Output, dg.AssetMaterialization)) or "unique_id" not in event.metadata:
                continue
            node = nodes.get(event.metadata["unique_id"].value, {})
            if node.get("config", {}).get("materialized") == "view" or not node.get("relation_name"):
                continue
            try:
                (rows,) = con.execute(f"SELECT count(*) FROM {node['relation_name']}").fetchone()
            except duckdb.Error as exc:  # metadata only: the materialization stands without it
                context.log.warning(f"row count of {node['relation_name']} not read: {exc}")
                continue
            # the keys of dagster's table metadata (TableMetadataSet): the UI's row count column
            out[-1] = event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows),
                                           "dagster/storage_kind": dg.MetadataValue.text("duckdb")})
    return out


def release_dbt_duckdb_handle() -> None:
    """Close any DuckDB instance dbt-duckdb opened in this process (dagster-dbt builds a dbt
    adapter in the step's process; its row-count helper opened the warehouse through it).

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
