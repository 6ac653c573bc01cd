"""The quality gate: every GX suite in data_quality/suites/ as a blocking Dagster asset check.

A failing ERROR-severity suite stops everything downstream of its table (exports, publish);
a WARN suite is shown in the UI but lets the run go on.
"""


from types import ModuleType

import dagster as dg

from data_quality.suites import suite_modules
from orchestration import settings


def _asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _metadata(outcome) -> dict:
    lines = ["| expectation | result | observed | unexpected | samples (masked) |", "|---|---|---|---|---|"]
    for e in outcome.expectations:
        samples = ", ".join(e.samples).replace("|", "/")
        lines.append(
            f"| {e.label()} | {'pass' if e.success else 'FAIL'} | {e.observed if e.observed is not None else ''} "
            f"| {e.unexpected_count if e.unexpected_count is not None else ''} | {samples} |"
        )
    return {
        "suite": outcome.suite,
        "rows_validated": outcome.rows,
        "expectations_evaluated": len(outcome.expectations),
        "expectations_failed": len(outcome.failed),
        "failed_expectations": ", ".join(e.label() for e in outcome.failed) or "none",
        "gate_seconds": outcome.seconds,
        "results": dg.MetadataValue.md("\n".join(lines)),
    }


def build_gx_check(module: ModuleType) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity[getattr(module, "SEVERITY", "ERROR")]
    suite_name = module.__name__.rsplit(".", 1)[-1]

    @dg.asset_check(
        asset=_asset_key(module.TABLE),
        name=f"gx_{suite_name}",
        blocking=True,
        description=(module.__doc__ or "").strip() + f" Great Expectations suite data_quality/suites/{suite_name}.py.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from data_quality.runner import validate_table

        outcome = validate_table(module, settings.warehouse_path())
        if not outcome.success:
            context.log.error(
                f"quality gate {suite_name} failed on {module.TABLE}: "
                + "; ".join(f"{e.label()} observed {e.observed}" for e in outcome.failed)
            )
        return dg.AssetCheckResult(passed=outcome.success, severity=severity, metadata=_metadata(outcome))

    return _check


gx_checks = [build_gx_check(m) for m in suite_modules()]
