"""dbt models as Dagster assets: `dbt build`, so dbt tests become asset checks.

Asset keys are <schema>/<table>, for models and sources alike (raw/<table> lines up with the extract
assets, intermediate/int_identity_components with the identity asset that builds it); groups come
from the model's folder (`LayerTranslator.get_group_name`): staging, marts, and intermediate/<area>
by area (identity, profiles, analytics, governance). Adding a model or a folder needs no Python.

The identity steps that are not SQL (Splink matching, connected components and the id registry,
account clustering) are Dagster assets (orchestration/defs/identity/assets.py),
not dbt Python models: dbt-spark runs no Python models on open-source Spark. The dbt models after
them read their tables as the dbt source `identity`, so the project splits in two dbt selections
around them, one step each in a run:

  warehouse_dbt_models       everything the identity assets read, and what does not depend on them
                             (staging, the identity SQL models, web sessions...)
  identity -> (assets)       intermediate/int_identity_match_pairs, _components, _account_clusters
  resolved_dbt_models        `source:identity+`: what reads people and accounts (profiles, marts,
                             governance) and the tests of the identity tables (source tests, shown as
                             checks of the identity assets; a failure skips the marts after it)

Two definitions rather than one that Dagster splits itself: Dagster does execute a subsettable
multi-asset in several steps when a path leaves it and comes back (it colours the graph and splits
the definition by colour), but it starts a new colour at every hop between definitions - the
event-day models, the blocking GX checks on staging, the identity assets - so one definition over
the same models was split into five dbt steps (checked with dagster 1.13); each dbt step costs a dbt
start-up and a partial parse (dbt_project/README.md measures it). Both selections skip their build
when nothing they read changed (orchestration/defs/dbt/unchanged.py); the assets between them skip
with the first.
"""


import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration import partitions
from orchestration.dagster_internals import QUIET_SKIPPED_CHECKS, WarehouseDbtCli
from orchestration.defs.dbt import unchanged
from orchestration.defs.dbt.project import dbt_project
from orchestration.identity import custom_identifiers
from orchestration.identity.steps import AFTER_IDENTITY, IDENTITY_SOURCE
from orchestration.warehouse import WarehouseResource, wait_until_free  # runs take turns, readers waited for


class LayerTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # where the table lives: raw/<table> (the extract assets), intermediate/<table> (the
            # identity assets that build the source `identity`)
            schema = dbt_resource_props.get("schema") or dbt_resource_props["source_name"]
            return dg.AssetKey([schema, dbt_resource_props.get("identifier") or dbt_resource_props["name"]])
        schema = dbt_resource_props.get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props.get("alias") or dbt_resource_props["name"]])

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        """dbt tests are checks of the asset they test; the tests of the raw sources stay what they
        were, observations (the raw tables' blocking checks are their GX suites): as blocking checks
        of a dbt step they would tie that step before the other that reads raw."""
        test = manifest["nodes"].get(unique_id, {})
        parents = test.get("depends_on", {}).get("nodes", [])
        tested = test.get("attached_node") or (parents[0] if len(parents) == 1 else "")  # source tests name none
        if tested.startswith("source.") and manifest["sources"][tested]["source_name"] != IDENTITY_SOURCE:
            return None
        return super().get_asset_check_spec(asset_spec, manifest, unique_id, project)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The layer is the model's folder: staging/*, marts/* -> staging, marts; intermediate/<area>
        -> <area> (identity, profiles, analytics, governance). Seeds and tests sit with staging."""
        fqn = dbt_resource_props.get("fqn") or []  # [project, top folder, subfolder..., model]
        folders = fqn[1:-1]
        if dbt_resource_props["resource_type"] != "model" or not folders:
            return "staging"
        return folders[1] if folders[0] == "intermediate" and len(folders) > 1 else folders[0]


# source tests become checks of the source's asset (an identity asset's data tests, run by the dbt
# step after it), not observations
TRANSLATOR = LayerTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                                   enable_source_tests_as_checks=True))

# dbt unit tests check the models' code on fixtures, not the data: they run where code changes
# (the test suite's dbt builds, `dbt build` by hand), not in every pipeline run. Data tests stay.
PRODUCTION_BUILD_ARGS = ["--exclude-resource-type", "unit_test"]


@dbt_assets(
    manifest=dbt_project().manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    exclude=f"tag:{partitions.PARTITIONED_DBT_TAG} {AFTER_IDENTITY}",
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Staging, the identity SQL models and what needs no person (web sessions...), built and tested
    by `dbt build`; not rebuilt by a run in which nothing they read (data, code, settings) changed
    since the last successful run (orchestration/defs/dbt/unchanged.py): then the identity assets,
    the models after them, the gate and the exports skip too."""
    yield from _build_unless_unchanged(context, dbt)


@dbt_assets(
    manifest=dbt_project().manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    select=AFTER_IDENTITY,
    exclude=f"tag:{partitions.PARTITIONED_DBT_TAG}",
    name="resolved_dbt_models",
)
def resolved_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Profiles, marts and governance models: what reads the people and accounts the identity assets
    resolved, and the identity tables' tests, after those assets in the same run."""
    yield from _build_unless_unchanged(context, dbt)


def dbt_model_keys() -> set[dg.AssetKey]:
    """Every asset key of the (not partitioned) dbt models, over both selections."""
    return set(warehouse_dbt_models.keys) | set(resolved_dbt_models.keys)


def _build_unless_unchanged(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    # the identifiers sources.yml declares now: part of the settings dbt reads, so of the fingerprint
    custom_identifiers.export()
    fp = unchanged.BuildFingerprint(dbt_manifest(), TRANSLATOR, context.selected_asset_keys)
    QUIET_SKIPPED_CHECKS.skipped = False
    forced = unchanged.rebuild_forced(context)
    if not forced:
        last_run, digest, why = unchanged.current_build(context, fp)
        if last_run:
            context.log.info(
                f"Nothing this build reads changed since run {last_run} built it (fingerprint {digest[:12]}: "
                f"{len(fp.inputs)} input tables, code, settings): dbt build skipped, and the steps after it "
                f"(identity, gate, exports, snapshot). Tag the run {unchanged.REBUILD_TAG}=always (cdw run --rebuild) "
                "to rebuild.")
            QUIET_SKIPPED_CHECKS.skipped = True
            return
        context.log.info(f"Building: {why}")
    # incremental staging keeps rows between runs: rebuilt from scratch when asked or when the code
    # or settings that staged them changed
    refresh = f"{unchanged.REBUILD_TAG}=always" if forced else unchanged.full_refresh_reason(fp)
    if refresh:
        context.log.info(f"Incremental models rebuilt from scratch (--full-refresh): {refresh}")
    yield from _build(context, dbt, PRODUCTION_BUILD_ARGS + (["--full-refresh"] if refresh else []))
    unchanged.record_build(fp, context.run.run_id)  # reached only when dbt succeeded


@dbt_assets(
    manifest=dbt_project().manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    select=f"tag:{partitions.PARTITIONED_DBT_TAG}",
    partitions_def=partitions.EVENT_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="event_day_dbt_models",
)
def event_day_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Event models built per delivery day (incremental, delete+insert of the run's days)."""
    window = context.partition_time_window
    # a day is done when staged: days loaded by a run that died before this step are built too
    with warehouse.connect() as con:
        start, end, as_of, behind = partitions.staging_window(con, window.start.date(), window.end.date())
    if behind:
        context.log.warning(f"also staging {len(behind)} day(s) loaded into raw but never staged "
                            f"(an earlier run stopped before this step): {', '.join(map(str, behind))}")
    # the window reaches the models as env vars (dbt's partial parsing survives them, not --vars)
    os.environ["CDW_EVENT_DAYS_START"] = start.isoformat()
    os.environ["CDW_EVENT_DAYS_END"] = end.isoformat()
    try:
        yield from _build(context, dbt, PRODUCTION_BUILD_ARGS)
        with warehouse.connect() as con:
            partitions.record_staged(con, start, end, as_of, context.run.run_id)
    finally:
        for name in ("CDW_EVENT_DAYS_START", "CDW_EVENT_DAYS_END"):
            os.environ.pop(name, None)


@cache
def dbt_manifest() -> dict:
    """The dbt manifest the assets were defined from (read once per process)."""
    return json.loads(dbt_project().manifest_path.read_text())


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str]):
    project = dbt_project()
    base = Path(project.project_dir) / project.target_path
    target = base / f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}"
    _share_partial_parse(base, target)
    custom_identifiers.export()  # sources.yml as it is now (a bad entry fails the model naming it)
    wait_until_free(on_wait=context.log.warning)  # a reader holds the file: wait, do not fail
    try:
        invocation = dbt.cli(["build", *args], context=context, target_path=target)
        # Each event goes to Dagster as dbt reports it, so Dagster records it (a few ms each,
        # ~1,000 per build) on the second core while dbt works on the first; the row counts come
        # from dbt itself. Not `.stream().fetch_row_counts()`: on DuckDB it drains dbt in a worker
        # thread while the step's thread polls for results without sleeping (dagster's `imap`), a
        # whole core of the two spent spinning for as long as dbt runs (measured at scale L).
        # When dbt fails (a model, a blocking test), what it built before is reported, then the error.
        yield from with_row_counts(invocation)
    finally:
        _share_partial_parse(target, base)
        _prune_step_targets(base)


KEEP_STEP_TARGETS = 9  # the last three runs' three dbt steps: their run_results.json, manifest, logs
STEP_TARGET_MIN_AGE_S = 3600  # never a folder a step of another run sharing this project may be writing


def _prune_step_targets(base: Path, keep: int = KEEP_STEP_TARGETS, min_age_s: float = STEP_TARGET_MIN_AGE_S) -> None:
    """Each dbt step writes its own target folder (~16 MB at the demo's size: manifest, compiled
    SQL, run results); beyond the newest few, folders untouched for an hour are removed, so the
    project's target/ does not grow by a folder per step forever."""
    steps = sorted((p for p in base.glob("*_dbt_models-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in steps[keep:]:
        if time.time() - old.stat().st_mtime > min_age_s:
            shutil.rmtree(old, ignore_errors=True)


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


ROW_COUNT_LOG = "cdw row count: "  # macros/log_row_count.sql


def with_row_counts(invocation):
    """The Dagster events of a dbt invocation, as they come, each materialized table's carrying its
    row count (`dagster/row_count`, shown in the UI; the keys of dagster's TableMetadataSet).

    The count is the one the table's post-hook logged (macros/log_row_count.sql) just before dbt
    reported the model finished; views have none."""
    counts: dict[str, int] = {}
    for raw in invocation.stream_raw_events():
        info, node = raw.raw_event["info"], raw.raw_event["data"].get("node_info") or {}
        if info["name"] == "JinjaLogInfo" and info["msg"].startswith(ROW_COUNT_LOG) and node.get("unique_id"):
            counts[node["unique_id"]] = int(info["msg"][len(ROW_COUNT_LOG):])  # the last one stands
            continue
        for event in raw.to_default_asset_events(
            manifest=invocation.manifest, dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=invocation.context, target_path=invocation.target_path, project=invocation.project,
        ):
            unique_id = event.metadata.get("unique_id") if isinstance(event, (dg.Output, dg.AssetMaterialization)) else None
            rows = counts.pop(unique_id.value, None) if unique_id is not None else None
            if rows is not None:
                event = event.with_metadata({**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows),
                                             "dagster/storage_kind": dg.MetadataValue.text("duckdb")})
            yield event


def dbt_resource() -> DbtCliResource:
    # the dbt of this environment, even when the venv is not activated (e.g. `.venv/bin/cdw run`)
    exe = Path(sys.executable).parent / "dbt"
    return WarehouseDbtCli(project_dir=dbt_project(), dbt_executable=str(exe) if exe.exists() else "dbt")
