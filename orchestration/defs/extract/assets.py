"""One extract asset per source contract in sources.yml: landing files -> raw.<source>."""


from datetime import timedelta

import dagster as dg

from orchestration.extract.contracts import SourceContract, contracts
from orchestration.extract.loader import connect, load_source
from orchestration.governance.erasure import enforce_after_load
from orchestration import partitions, settings

EXTRACT_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def build_extract_asset(contract: SourceContract) -> dg.AssetsDefinition:
    daily = contract.partitioned == "daily"

    @dg.asset(
        key=["raw", contract.name],
        group_name="extract",
        description=f"{contract.description} Loaded from landing/{contract.path}; rows breaking "
        "the contract go to quarantine.rejected_rows with a reason.",
        kinds={"duckdb", contract.format},
        tags={"system": contract.system},
        retry_policy=EXTRACT_RETRY,
        required_resource_keys={"warehouse"},  # runs take turns (orchestration/warehouse.py)
        # CRM loads come after the API pull (a no-op in file-drop mode) so its pages are loaded
        deps=[dg.AssetKey(["extract", "crm_api_pull"])] if contract.system == "crm" else [],
        # event sources: one partition per delivery day; a backfill of many days is one run
        partitions_def=partitions.EVENT_DAYS if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        freshness_policy=dg.FreshnessPolicy.time_window(
            warn_window=timedelta(hours=contract.fresh_within_hours),
            fail_window=timedelta(hours=2 * contract.fresh_within_hours)),
    )
    def _extract(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        days = None
        if daily:
            window = context.partition_time_window
            days = (window.start.date(), window.end.date())
        with connect() as con:
            result = load_source(con, contract, settings.landing_dir(), days=days)
            enforce_after_load(con, contract.name)  # erasures (tombstones) and retention, before anything reads raw
            table_rows = con.execute(f"SELECT count(*) FROM {contract.table}").fetchone()[0]
            quarantined_total = con.execute(
                "SELECT count(*) FROM quarantine.rejected_rows WHERE source = ?", [contract.name]
            ).fetchone()[0]
        for f in result.files:
            if f.status == "refused":
                context.log.warning(f"refused file {f.message}")
            elif f.status == "duplicate":  # a re-delivery of loaded content under another name
                context.log.info(f"skipped {f.file}: {f.message}")
            elif f.message:
                context.log.info(f"{f.file}: {f.message}")
        summary = result.summary()
        if summary["rows_read"] != (summary["rows_loaded"] + summary["rows_quarantined"]
                                    + summary["rows_duplicate_skipped"]):
            raise dg.Failure(f"row accounting broken for {contract.name}: {summary}")
        return dg.MaterializeResult(
            metadata={
                **summary,
                "dagster/row_count": table_rows,
                "quarantined_rows_total": quarantined_total,
                "files": dg.MetadataValue.md(_files_table(result.files)) if summary["files_unchanged"] < len(result.files) else "no new files",
            }
        )

    return _extract


def _files_table(files) -> str:
    lines = ["| file | status | read | loaded | quarantined | duplicates | note |", "|---|---|---|---|---|---|---|"]
    for f in [f for f in files if f.status != "unchanged"][:50]:
        note = f.message.replace("|", "/")[:160]
        lines.append(f"| {f.file} | {f.status} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | {f.rows_duplicate} | {note} |")
    return "\n".join(lines)


extract_assets = [build_extract_asset(c) for c in contracts().values()]
