"""Identity resolution's Python steps as Dagster assets, and `identity_accuracy`.

Three steps of identity resolution are not SQL. They run here, as Dagster assets between the two dbt
selections (orchestration/defs/dbt/assets.py), not as dbt Python models: dbt-spark runs no Python
models on open-source Spark, and Splink (the matcher) has a Spark backend of its own. Each reads its
inputs from the warehouse and writes its table there through the engine seam
(orchestration/identity/steps.py), under the name the dbt source `identity` declares, so the dbt
models after them read them as `source('identity', ...)` and the UI shows one graph:

  (dbt) int_identity_records, int_identity_record_identifiers, int_identity_edges
      -> intermediate/int_identity_match_pairs     Splink 5 (orchestration/identity/matching.py)
      -> intermediate/int_identity_components      connected components + stable-id registry
  (dbt) stg_crm__companies, seed free_email_domains -> intermediate/int_identity_account_clusters
      -> (dbt) profiles, marts, governance; the source's data tests run there as the assets' checks

They are skipped with the dbt step before them when nothing it reads changed. The matching asset's metadata says
whether training had enough evidence and why, the candidate pairs per blocking rule, the matches,
and links the run's model (JSON) and charts under $CDW_HOME/reports/identity/<run>/; the components
asset's, the merges.

Identity resolution also measures itself on every run: the `identity_accuracy` asset.

Downstream of the identity components and marts.customers, it appends one row per entity
(people, accounts) to marts.identity_accuracy - pairwise precision / recall / F1 against the
demo generator's ground truth when landing/_truth/ exists (records that loaded only), match
rate, cluster count, largest cluster - and the cluster-size histogram to
marts.identity_cluster_sizes, and shows them as asset metadata, with the latest probabilistic
matching run's report (whether training had enough evidence, candidate pairs per blocking rule,
links to the Splink model JSON and charts under $CDW_HOME/reports/identity/). No PII: counts,
ratios and model parameters only.
"""

import json
from pathlib import Path

import dagster as dg

from orchestration import settings, warehouse
from orchestration.defs.dbt.assets import dbt_manifest
from orchestration.identity import matching, steps
from orchestration.identity.accuracy import record
from orchestration.identity.matching import latest_report
from orchestration.warehouse import WarehouseResource


def _key(table: str) -> dg.AssetKey:
    """schema.table -> the asset key the dbt translator gives a model or source there."""
    return dg.AssetKey(table.split("."))


MATCH_PAIRS = _key(steps.MATCH_PAIRS)
COMPONENTS = _key(steps.COMPONENTS)
ACCOUNT_CLUSTERS = _key(steps.ACCOUNT_CLUSTERS)
CUSTOMERS = dg.AssetKey(["marts", "customers"])


def source_node(table: str) -> dict:
    """The dbt source node of a step's table: its description, columns and meta (the parameters)."""
    name = table.split(".")[1]
    return dbt_manifest()["sources"][f"source.customer_warehouse.{steps.IDENTITY_SOURCE}.{name}"]


def _description(table: str) -> str:
    return " ".join(source_node(table).get("description", "").split())


def _columns(table: str) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=c, description=spec.get("description") or None)
                                   for c, spec in source_node(table).get("columns", {}).items()])


def _table_metadata(table: str, rows: int) -> dict:
    return {"dagster/row_count": rows, "dagster/storage_kind": dg.MetadataValue.text("duckdb"),
            "dagster/relation_identifier": table}


def match_params() -> steps.MatchParams:
    """The matching knobs: vars of dbt_project.yml, rendered into the source's meta by dbt."""
    return steps.MatchParams.from_meta(source_node(steps.MATCH_PAIRS).get("meta") or {})


def _asset(table: str, deps: list[dg.AssetKey]):
    return dg.asset(key=_key(table), group_name="identity", deps=deps, description=_description(table),
                    metadata={"dagster/column_schema": _columns(table)}, kinds={"python", "duckdb"})


@_asset(steps.MATCH_PAIRS, [_key(steps.RECORDS), _key(steps.RECORD_IDENTIFIERS), _key(steps.EDGES)])
def match_pairs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(on_wait=context.log.warning) as con:
        result = steps.engine_for(con).match_pairs(match_params())
    report = matching.save_report(result)
    summary = json.loads((Path(report) / "summary.json").read_text())
    if not result.evidence.startswith("sufficient"):
        context.log.warning(f"probabilistic matching merged nothing: {result.evidence}")
    return dg.MaterializeResult(metadata={**_table_metadata(steps.MATCH_PAIRS, result.pairs.num_rows),
                                          **matching_metadata(summary)})


@_asset(steps.COMPONENTS, [_key(steps.RECORDS), _key(steps.EDGES), MATCH_PAIRS])
def components(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(on_wait=context.log.warning) as con:
        done = steps.engine_for(con).components()
    return dg.MaterializeResult(metadata={**_table_metadata(steps.COMPONENTS, done.records),
                                          "customers": done.customers, "merges": done.merges})


@_asset(steps.ACCOUNT_CLUSTERS, [_key(steps.COMPANIES), _key(steps.FREE_EMAIL_DOMAINS)])
def account_clusters(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(on_wait=context.log.warning) as con:
        rows = steps.engine_for(con).account_clusters()
        accounts = con.execute(f"select count(distinct account_id) from {steps.ACCOUNT_CLUSTERS}").fetchone()[0]
    return dg.MaterializeResult(metadata={**_table_metadata(steps.ACCOUNT_CLUSTERS, rows), "accounts": accounts})


identity_step_assets = [match_pairs, components, account_clusters]


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def matching_metadata(report: dict | None) -> dict:
    """The latest probabilistic matching run (its summary.json) as asset metadata: whether training had
    enough evidence, the prior, the candidate pairs per blocking rule, links to the model and charts.
    Counts and parameters only, no person's data."""
    if report is None:
        return {"matching_evidence": "no matching run yet"}
    rules = report.get("candidate_pairs_per_rule") or {}
    table = "\n".join(["| blocking rule | candidate pairs |", "|---|---:|"] + [f"| {r} | {n} |" for r, n in rules.items()])
    metadata = {
        "matching_evidence": report["evidence"],
        "matching_records": report.get("records", 0),
        "matching_prior": float(report.get("prior") or 0.0),
        "matching_candidate_pairs": report.get("candidate_pairs", 0),
        "matching_matched_pairs": report.get("matched_pairs", 0),
        "matching_pairs_per_blocking_rule": dg.MetadataValue.md(table),
        "matching_report": dg.MetadataValue.path(report["report_dir"]),
    }
    if report.get("model"):
        metadata["matching_model_json"] = dg.MetadataValue.path(report["model"])
    for name, path in (report.get("charts") or {}).items():
        if not path.startswith("not drawn"):
            metadata[f"matching_chart_{name}"] = dg.MetadataValue.path(path)
    return metadata


@dg.asset(
    key=dg.AssetKey(["marts", "identity_accuracy"]),
    group_name="identity",
    deps=[COMPONENTS, ACCOUNT_CLUSTERS, CUSTOMERS],
    description="Match accuracy of identity resolution, measured every run (pairwise precision / recall / F1 "
                "against the demo ground truth when present, match rate, cluster sizes); appended to "
                "marts.identity_accuracy and marts.identity_cluster_sizes.",
    required_resource_keys={"warehouse"},  # runs take turns (orchestration/warehouse.py)
)
def identity_accuracy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    truth = settings.truth_dir()
    with warehouse.connect() as con:
        rows, sizes = record(con, truth if truth.exists() else None, context.run.run_id)
    people, accounts = rows
    histogram = "\n".join(["| cluster size | customers |", "|---:|---:|"]
                          + [f"| {s} | {n} |" for s, n in zip(sizes["cluster_size"], sizes["customers"])])
    metadata = {
        "dagster/row_count": len(rows),
        "people_records": people["records"],
        "people_clusters": people["clusters"],
        "people_match_rate": people["match_rate"],
        "people_largest_cluster": people["largest_cluster"],
        "accounts_clusters": accounts["clusters"],
        "cluster_size_histogram": dg.MetadataValue.md(histogram),
        "ground_truth": "landing/_truth" if people["precision"] is not None else "none",
    }
    for entity in (people, accounts):
        if entity["precision"] is not None:
            for k in ("precision", "recall", "f1"):
                metadata[f"{entity['entity']}_{k}"] = float(entity[k])
    metadata.update(matching_metadata(latest_report()))
    if not str(metadata["matching_evidence"]).startswith("sufficient"):
        context.log.warning(f"probabilistic matching merged nothing: {metadata['matching_evidence']}")
    context.log.info("identity accuracy: people P=%s R=%s F1=%s; accounts P=%s R=%s",
                     _fmt(people["precision"]), _fmt(people["recall"]), _fmt(people["f1"]),
                     _fmt(accounts["precision"]), _fmt(accounts["recall"]))
    return dg.MaterializeResult(metadata=metadata)
