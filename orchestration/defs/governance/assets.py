"""Governance assets: the analyst snapshot (published only after the gate), the erasure check
that runs after every export, and the GDPR delete of erased people at the CRM."""

from pathlib import Path

import dagster as dg

from orchestration.crm_client import URL_ENV as CRM_URL_ENV
from orchestration.crm_client import CrmClient, CrmError
from orchestration.defs.dbt.assets import dbt_model_keys
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.exports.assets import export_assets
from orchestration.defs.exports.crm import crm_writeback_state, forget
from orchestration.defs.quality.checks import behind_the_whole_gate
from orchestration.governance import audit, config, crm_erasure, erasure, snapshot

# Every mart it copies and every gated table: blocking checks hold back only direct downstream
# assets, so the snapshot names them all (a failed gate anywhere keeps the last good snapshot).
MART_KEYS = sorted((k for k in dbt_model_keys() if k.path[0] == "marts"), key=lambda k: k.path)


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
    result = snapshot.publish(manifest_path=Path(dbt_project().manifest_path))
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
                                          "tables_scanned": result["tables_scanned"],
                                          "rows_scanned": result["rows_scanned"],
                                          "files_scanned": result["files_scanned"], "compacted": compacted,
                                          "status": "no erased identifier anywhere"})


def gdpr_delete(client: CrmClient):
    """HubSpot's GDPR delete of one contact: None once it is gone (a 404 means already deleted),
    else the HTTP status - never the CRM's message, which may echo the contact."""
    def delete(contact_id: str) -> str | None:
        try:
            client.post(crm_erasure.GDPR_DELETE_PATH, {"objectId": contact_id})
        except CrmError as exc:
            if exc.status != 404:
                return f"HTTP {exc.status}" if exc.status else "CRM unreachable"
        return None
    return delete


@dg.asset(
    key=["governance", "crm_erasure"],
    group_name="governance",
    description="Erasure at the source: sends the CRM's GDPR delete (POST /crm/v3/objects/contacts/gdpr-delete) "
    "for every CRM contact of an erased person queued in governance/crm_deletions.json (contact ids sealed "
    "under CDW_ERASURE_KEY), retrying 429/5xx; what the CRM does not accept stays queued and this asset fails, "
    "so the next run retries it. CRM API mode only (CDW_CRM_API_URL / CDW_CRM_API_TOKEN).",
    kinds={"hubspot"},
)
def crm_erasure_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    queued = crm_erasure.pending()
    client = CrmClient.from_env()
    if client is None:
        if queued:
            raise dg.Failure(f"{len(queued)} CRM deletion(s) of erased people are queued but CRM API mode is not "
                             f"configured ({CRM_URL_ENV} unset): they stay queued until it is")
        return dg.MaterializeResult(metadata={"status": f"not configured ({CRM_URL_ENV} unset)",
                                              "erasures_pending": 0})
    if not queued:
        return dg.MaterializeResult(metadata={"status": "nothing to delete", "erasures_pending": 0})
    result = crm_erasure.process(gdpr_delete(client), run_id=context.run.run_id,
                                 on_deleted=lambda contact_ids: forget(crm_writeback_state(), contact_ids))
    result["retries"] = client.retries
    if result["erasures_pending"]:
        raise dg.Failure(
            f"CRM GDPR delete pending for {result['erasures_pending']} erasure(s) "
            f"({result['contacts_pending']} contact(s)): {result['error']}; kept in governance/crm_deletions.json "
            "and retried by the next run",
            metadata={k: v for k, v in result.items() if v is not None})
    return dg.MaterializeResult(metadata={"status": "deleted at the CRM", **{k: v for k, v in result.items() if v is not None}})


governance_assets = [analyst_snapshot, erasure_verification, crm_erasure_asset]

__all__ = ["governance_assets", "config"]
