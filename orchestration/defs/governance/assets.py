"""Governance assets: the analyst snapshot (published only after the gate) and the erasure check
that runs after every export."""


import dagster as dg

from orchestration.defs.dbt.assets import warehouse_dbt_models
from orchestration.defs.exports.assets import export_assets
from orchestration.defs.quality.checks import behind_the_whole_gate
from orchestration.governance import audit, config, erasure, snapshot

# Every mart it copies and every gated table: blocking checks hold back only direct downstream
# assets, so the snapshot names them all (a failed gate anywhere keeps the last good snapshot).
MART_KEYS = sorted((k for k in warehouse_dbt_models.keys if k.path[0] == "marts"), key=lambda k: k.path)


@dg.asset(
    key=["governance", "analyst_snapshot"],
    group_name="governance",
    deps=behind_the_whole_gate(*MART_KEYS),
    description="Read-only copy of the analyst-facing schemas (CDW_SNAPSHOT_SCHEMAS, default marts) in "
    "$CDW_HOME/analytics.duckdb, swapped in atomically after the quality gate passed; `cdw sql` reads it. "
    "PII columns (meta pii in dbt, plus known names) are masked unless CDW_SNAPSHOT_PII=full.",
    kinds={"duckdb"},
)
def analyst_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    result = snapshot.publish()
    audit.record("snapshot_publish", target="analytics.duckdb", rows=sum(result["tables"].values()),
                 run_id=context.run.run_id, pii_mode=result["pii_mode"])
    return dg.MaterializeResult(metadata={
        "path": result["path"],
        "tables": len(result["tables"]),
        "dagster/row_count": sum(result["tables"].values()),
        "pii_mode": result["pii_mode"],
        "masked_columns": ", ".join(result["masked_columns"]) or "none",
    })


@dg.asset(
    key=["governance", "erasure_verification"],
    group_name="governance",
    deps=[analyst_snapshot.key, *(a.key for a in export_assets)],
    description="Compacts the warehouse file when a load erased or purged rows (so they leave the disk), "
    "then proves every erasure holds: scans every table of the warehouse and the snapshot and every "
    "export and access file for the identifiers in the tombstone ledger (by keyed hash). Fails the run "
    "when anything is left.",
    kinds={"python"},
)
def erasure_verification(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    compacted = erasure.compact_warehouse()  # erased / purged rows leave the file, not only the tables
    n = erasure.erasure_count()
    if n == 0:
        return dg.MaterializeResult(metadata={"erasures": 0, "status": "no erasures recorded", "compacted": compacted})
    result = erasure.scan()
    if result["findings"]:
        locations = ", ".join(f"{k} ({v})" for k, v in sorted(result["findings"].items()))
        raise dg.Failure(f"erased people still found in: {locations}",
                         metadata={"erasures": n, "locations": locations})
    return dg.MaterializeResult(metadata={"erasures": n, "locations_scanned": result["locations_scanned"],
                                          "compacted": compacted,
                                          "status": "no erased identifier anywhere"})


governance_assets = [analyst_snapshot, erasure_verification]

__all__ = ["governance_assets", "config"]
