"""Validate a warehouse table with a GX suite.

GX's SQL datasource over duckdb_engine fails (GX closes the connection before fetching; GX
issues #10738, #11579), so the table is read once from DuckDB into pandas (via Arrow, only the
columns the suite uses, read-only connection closed right after) and validated with GX's
pandas datasource in an ephemeral context.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb

SAMPLE_ROWS = 5


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: Any
    unexpected_count: int | None
    samples: list[str] = field(default_factory=list)

    def label(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


@dataclass
class SuiteOutcome:
    suite: str
    table: str
    success: bool
    rows: int
    seconds: float
    expectations: list[ExpectationOutcome]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]


@cache
def _context():
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm noise in run logs
    ds = ctx.data_sources.add_pandas("warehouse")
    return ctx, ds


def mask(value: Any) -> str:
    """Mask a sample value so no PII reaches logs or the UI: keep its shape, not its content."""
    s = str(value)
    if "@" in s:
        local, _, domain = s.partition("@")
        return (local[:1] + "***@" + domain[:1] + "***") if local else "***@***"
    return s[:1] + re.sub(r"\w", "*", s[1:8]) if len(s) > 1 else "*"


def _columns_of(suite) -> list[str]:
    cols = []
    for exp in suite.expectations:
        col = getattr(exp, "column", None)
        if col and col not in cols:
            cols.append(col)
    return cols


def validate_table(module: ModuleType, warehouse: Path) -> SuiteOutcome:
    import great_expectations as gx

    t0 = time.perf_counter()
    ctx, ds = _context()  # suites must be built while a GX context is active
    suite = module.build_suite()
    cols = _columns_of(suite)
    pii = set(getattr(module, "PII_COLUMNS", set()))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        select = ", ".join(f'"{c}"' for c in cols) if cols else "*"
        df = con.execute(f"SELECT {select} FROM {module.TABLE}").df()
    name = module.TABLE.replace(".", "__")
    try:
        asset = ds.get_asset(name)
    except LookupError:
        asset = ds.add_dataframe_asset(name)
    try:
        batch_def = asset.get_batch_definition("whole")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    try:
        ctx.suites.delete(suite.name)
    except Exception:  # not registered yet
        pass
    suite = ctx.suites.add(suite)
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS})
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column")
        res = r.result or {}
        samples = res.get("partial_unexpected_list") or []
        if column in pii:
            samples = [mask(s) for s in samples]
        else:
            samples = [str(s)[:80] for s in samples]
        observed = res.get("observed_value")
        if observed is None and "unexpected_percent" in res:
            observed = f"{res.get('unexpected_percent') or 0:.4f}% unexpected"
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=column,
                success=bool(r.success),
                observed=observed,
                unexpected_count=res.get("unexpected_count"),
                samples=samples[:SAMPLE_ROWS],
            )
        )
    return SuiteOutcome(
        suite=suite.name,
        table=module.TABLE,
        success=bool(result.success),
        rows=len(df),
        seconds=round(time.perf_counter() - t0, 3),
        expectations=outcomes,
    )
