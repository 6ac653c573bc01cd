"""The quality gate: every GX suite in data_quality/suites/ as a blocking Dagster asset check.

A failing critical expectation of an ERROR suite stops everything downstream of its table
(exports, publish); warnings (a WARN suite, or an expectation built with severity="warning")
are shown in the UI but let the run go on. Every evaluation is appended to
quality.gate_history, the memory of the last good run (volume check, delivery window).

Dagster blocks only the *direct* downstream of a checked asset: an asset that must never run
on data that failed any gate lists `gated_asset_keys()` in its deps.
"""


from types import ModuleType

import dagster as dg

from data_quality.suites import suite_modules
from orchestration import settings


def _asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def gated_asset_keys() -> list[dg.AssetKey]:
    """Every table a GX suite checks (for deps of exports/publish: blocking holds direct downstream only)."""
    return sorted({_asset_key(m.TABLE) for m in suite_modules()}, key=lambda k: k.to_user_string())


def behind_the_whole_gate(*reads: dg.AssetKey) -> list[dg.AssetKey]:
    """Deps of an asset that publishes (an export, the analyst snapshot): what it reads plus every
    gated table, so a blocking failure anywhere - raw, staging, identity or marts - holds it back."""
    return sorted({*reads, *gated_asset_keys()}, key=lambda k: k.to_user_string())


def _result(e) -> str:
    if e.success:
        return "pass"
    return "FAIL" if e.severity == "critical" else "WARN"


def _metadata(outcome) -> dict:
    lines = ["| expectation | result | observed | unexpected | samples (masked) |", "|---|---|---|---|---|"]
    for e in outcome.expectations:
        samples = "; ".join(e.samples).replace("|", "/")
        lines.append(
            f"| {e.label()} | {_result(e)} | {e.observed if e.observed is not None else ''} "
            f"| {e.unexpected_count if e.unexpected_count is not None else ''} | {samples} |"
        )
    return {
        "status": "passed" if outcome.success else ("failed" if outcome.blocking else "warns"),
        "suite": outcome.suite,
        "rows_validated": outcome.rows,
        "table_rows": outcome.table_rows if outcome.table_rows is not None else -1,
        "blocking_failure": outcome.blocking,
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failed),
        "failed_expectations": ", ".join(e.label() for e in outcome.failed) or "none",
        "gate_seconds": outcome.seconds,
        "read_seconds": outcome.read_seconds,
        "results": dg.MetadataValue.md("\n".join(lines)),
    }


def build_gx_check(module: ModuleType) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity[getattr(module, "SEVERITY", "ERROR")]
    suite_name = module.__name__.rsplit(".", 1)[-1]

    @dg.asset_check(
        asset=_asset_key(module.TABLE),
        name=f"gx_{suite_name}",
        blocking=True,
        required_resource_keys={"warehouse"},  # runs take turns (orchestration/warehouse.py)
        description=(module.__doc__ or "").strip() + f" Great Expectations suite data_quality/suites/{suite_name}.py.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from data_quality.runner import validate_table

        outcome = validate_table(module, settings.warehouse_path(), run_id=context.run.run_id, record=True)
        if outcome.skipped:
            # a source never delivered is not a failure: said once, as a warning, by its raw gate
            raw_source = module.TABLE.startswith("raw.")
            (context.log.warning if raw_source else context.log.info)(
                f"quality gate {suite_name} skipped on {module.TABLE}: {outcome.skipped}"
                + (" (never delivered)" if raw_source else ""))
            return dg.AssetCheckResult(passed=True, description=f"skipped: {outcome.skipped}",
                                       metadata={"status": "skipped", "skipped_reason": outcome.skipped})
        if not outcome.success:
            log = context.log.error if outcome.blocking else context.log.warning
            log(
                f"quality gate {suite_name} {'failed' if outcome.blocking else 'warns'} on {module.TABLE}: "
                + "; ".join(f"{e.label()} observed {e.observed}"
                            # raw gates: the offending file and how to clear it (samples are masked)
                            + (f" ({e.samples[0]})" if e.samples and module.TABLE.startswith("raw.") else "")
                            for e in outcome.failed)
            )
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=severity if outcome.blocking else dg.AssetCheckSeverity.WARN,
            metadata=_metadata(outcome),
        )

    return _check


gx_checks = [build_gx_check(m) for m in suite_modules()]
