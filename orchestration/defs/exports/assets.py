"""Exports: audience files for activation, downstream of the blocking quality gate."""


import dagster as dg
import duckdb

from orchestration import settings
from orchestration.files import write_export

EMAIL_AUDIENCE_COLUMNS = ["customer_id", "email", "first_name", "last_name", "country"]


def _gate_results(context: dg.AssetExecutionContext, table_keys: list[dg.AssetKey]) -> dict:
    """The checks evaluated in this run on the tables this export reads (GX suites and dbt tests)."""
    records = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    results = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.asset_key in table_keys:
            results[evaluation.asset_check_key.to_user_string()] = "passed" if evaluation.passed else "failed"
    return dict(sorted(results.items()))


@dg.asset(
    key=["exports", "email_audience"],
    group_name="exports",
    # Blocking checks hold back only the *direct* downstream of the checked asset, so an export
    # names every gated mart it is derived from, not only the one it reads.
    deps=[dg.AssetKey(["marts", "email_audience"]), dg.AssetKey(["marts", "customers"])],
    description="CSV of people with email-marketing consent and a valid email, for the email "
    "platform, with a manifest (rows, sha256, run id, gate results). Written atomically; only "
    "after the quality gate on marts.email_audience passed.",
    kinds={"csv"},
)
def email_audience_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        rows = con.execute(
            f"SELECT {', '.join(EMAIL_AUDIENCE_COLUMNS)} FROM marts.email_audience ORDER BY customer_id"
        ).fetchall()
    manifest = write_export(
        settings.exports_dir() / "email_audience",
        "email_audience",
        EMAIL_AUDIENCE_COLUMNS,
        rows,
        {
            "destination": "email_platform",
            "consent_purpose": "email_marketing",
            "run_id": context.run.run_id,
            "gate_results": _gate_results(context, [dg.AssetKey(["marts", "email_audience"]), dg.AssetKey(["marts", "customers"])]),
        },
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": manifest["rows"],
            "path": str(settings.exports_dir() / "email_audience" / "email_audience.csv"),
            "sha256": manifest["sha256"],
        }
    )
