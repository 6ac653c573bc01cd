"""One extract asset per source contract in sources.yml: landing files -> raw.<source>."""


from datetime import timedelta

import dagster as dg

from orchestration import partitions, settings
from orchestration.extract.contracts import SourceContract, contracts
from orchestration.extract.loader import connect, load_source
from orchestration.governance.erasure import enforce_after_load

EXTRACT_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def build_extract_asset(contract: SourceContract) -> dg.AssetsDefinition:
    daily = contract.partitioned == "daily"

    @dg.asset(
        key=["raw", contract.name],
        group_name="extract",
        description=f"{contract.description} Loaded from landing/{contract.path}; rows without their "
        "record id or that cannot be parsed go to quarantine.rejected_rows with a reason; a bad "
        "optional field is loaded as NULL and recorded in quarantine.field_issues.",
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
            issues_total = con.execute(
                "SELECT count(*) FROM quarantine.field_issues WHERE source = ?", [contract.name]
            ).fetchone()[0]
        for f in result.files:
            if f.status == "refused":
                context.log.warning(f"refused file {f.message}")
            elif f.status == "pending":  # not stable yet: the next run reads it
                context.log.info(f"waiting for {f.file}: {f.message}")
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
                "field_issues_total": issues_total,
                "field_issues_by_column": dg.MetadataValue.json(_issues_by_column(result.files)),
                "files": dg.MetadataValue.md(_files_table(result.files)) if summary["files_unchanged"] < len(result.files) else "no new files",
            }
        )

    return _extract


def _files_table(files) -> str:
    lines = ["| file | status | read | loaded | rejected | duplicates | field issues | note |",
             "|---|---|---|---|---|---|---|---|"]
    for f in [f for f in files if f.status != "unchanged"][:50]:
        note = f.message.replace("|", "/")[:160]
        lines.append(f"| {f.file} | {f.status} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} "
                     f"| {f.rows_duplicate} | {f.field_issues} | {note} |")
    return "\n".join(lines)


def _issues_by_column(files) -> dict:
    """column -> {reason: count} over this run's deliveries (reasons carry no values)."""
    out: dict[str, dict[str, int]] = {}
    for f in files:
        for column, reasons in f.issues_by_column.items():
            for reason, n in reasons.items():
                out.setdefault(column, {})[reason] = out.get(column, {}).get(reason, 0) + n
    return out


extract_assets = [build_extract_asset(c) for c in contracts().values()]
