"""Validate a warehouse table with its GX suite, fast at any scale.

GX's SQL datasource over duckdb_engine fails (GX closes the connection before fetching; GX
issues #10738, #11579), so GX validates pandas frames that DuckDB computed:

* row-level suites (marts: one row per customer/account) read only the columns the suite
  names (DuckDB -> pandas in one columnar fetch), optionally joined to other tables by the
  module's `query()`;
* aggregate suites (raw, staging, identity: millions of rows) push the work down: the module's
  `query()` returns ONE row of metrics computed by DuckDB (null keys, duplicate keys, bad
  formats, quarantine rate of the worst delivery...) and the expectations bound those metrics,
  so GX only sees the small result and its observed value is the metric itself.

The warehouse is opened read-only for the reads and closed before GX runs; the only write is one
row per evaluation into `quality.gate_history` (a short transaction), which is also the memory
of the last good run for the volume check.

Suite module interface (data_quality/suites/<name>.py):
  TABLE          "<schema>.<table>": the asset the check is attached to
  SEVERITY       "ERROR" (default: a failing critical expectation blocks downstream) or "WARN"
                 (the whole suite only warns); an expectation built with severity="warning"
                 only warns, whatever the suite's severity
  PII_COLUMNS    columns whose sample values are masked
  SAMPLE_KEYS    columns shown beside offending values (e.g. customer_id) in row-level suites
  TRACK_VOLUME   True: the row count must stay within the volume tolerance of the last passing run
  SOURCES        the raw sources (sources.yml names) the table is built from: while none of them
                 has had a delivery, the table is empty by construction and the suite is skipped
                 ("not delivered: ..."), not failed. A raw table's suite needs its own source.
  build_suite()  -> gx.ExpectationSuite (import GX inside it: loading the definitions must not pay for GX)
  query(gate)    optional -> SQL whose result GX validates (default: the suite's columns of TABLE)
  samples(gate)  optional -> {column: SQL listing offending rows}, run only when an expectation
                 on that column failed (aggregate suites: show which rows/files the metric counts)
"""

from __future__ import annotations

import inspect
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from data_quality import config
from orchestration.warehouse import connect

SAMPLE_ROWS = 5
HISTORY_TABLE = "quality.gate_history"


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: Any
    unexpected_count: int | None
    samples: list[str] = field(default_factory=list)
    severity: str = "critical"  # critical | warning | info (GX's FailureSeverity)

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
    blocking: bool = True  # False when only warnings failed (or the suite is WARN)
    table_rows: int | None = None
    read_seconds: float = 0.0
    skipped: str | None = None  # why the suite did not judge the table (e.g. "not delivered: web_events")

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]


@dataclass(frozen=True)
class GateContext:
    """What a suite's query() may use: the table, the clock and the last passing evaluation."""

    table: str
    check: str
    now: datetime  # UTC, naive (like raw._loaded_at)
    last_pass_at: datetime | None
    last_pass_rows: int | None

    @staticmethod
    def ts(value: datetime | None) -> str:
        """A SQL TIMESTAMP literal (or the beginning of time)."""
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'" if value else "TIMESTAMP '1900-01-01'"


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
        for attr in ("column", "column_A", "column_B"):
            col = getattr(exp, attr, None)
            if col and col not in cols:
                cols.append(col)
        for col in getattr(exp, "column_list", None) or []:
            if col not in cols:
                cols.append(col)
    return cols


def _show(column: str | None, value: Any, pii: set[str]) -> str:
    if value is None:
        return "NULL"
    return mask(value) if column in pii else str(value)[:80]


def _history(con, check: str) -> tuple[datetime | None, int | None]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'quality' AND table_name = 'gate_history'"
    ).fetchone()[0]
    if not exists:
        return None, None
    row = con.execute(
        f"SELECT checked_at, row_count FROM {HISTORY_TABLE} WHERE check_name = ? AND passed "
        "ORDER BY checked_at DESC LIMIT 1",
        [check],
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def record_history(warehouse: Path, outcome: SuiteOutcome, check: str, run_id: str | None, now: datetime) -> None:
    """Remember this evaluation. `passed` means the gate let the data through (warnings only, or
    nothing failed): the volume baseline and the raw re-check window move only then."""
    with connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS quality")
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
                checked_at TIMESTAMP, run_id VARCHAR, check_name VARCHAR, table_name VARCHAR,
                passed BOOLEAN, row_count BIGINT, failed_expectations VARCHAR)"""
        )
        con.execute(
            f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [now, run_id, check, outcome.table, not outcome.blocking, outcome.table_rows,
             json.dumps([e.label() for e in outcome.failed])],
        )


def _volume_suite(name: str, rows: int, previous: int):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    tol = config.volume_tolerance()
    suite = gx.ExpectationSuite(name=f"{name}__volume")
    suite.add_expectation(
        gxe.ExpectColumnMaxToBeBetween(
            column="row_count",
            min_value=int(previous * (1 - tol)),
            max_value=int(previous * (1 + tol)) + 1,
            meta={"why": f"row count within {tol:.0%} of the last passing run ({previous} rows)"},
        )
    )
    return suite


def _validate(ctx, ds, name: str, suite, df, sample_keys: list[str]):
    asset_name = name.replace(".", "__")
    try:
        asset = ds.get_asset(asset_name)
    except LookupError:
        asset = ds.add_dataframe_asset(asset_name)
    try:
        batch_def = asset.get_batch_definition("whole")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    try:
        ctx.suites.delete(suite.name)
    except Exception:  # not registered yet
        pass
    suite = ctx.suites.add(suite)
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS}
    keys = [k for k in sample_keys if k in df.columns]
    if keys:
        result_format["unexpected_index_column_names"] = keys
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    return batch.validate(suite, result_format=result_format)


def _outcomes(result, pii: set[str], keys: list[str]) -> list[ExpectationOutcome]:
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column")
        res = r.result or {}
        indexed = res.get("partial_unexpected_index_list") or []
        if indexed and isinstance(indexed[0], dict):
            samples = [
                ", ".join(f"{k}={_show(k, row.get(k), pii)}" for k in [*keys, column] if k in row)
                for row in indexed
            ]
        else:
            samples = [_show(column, s, pii) for s in res.get("partial_unexpected_list") or []]
        observed = res.get("observed_value")
        if observed is None and "unexpected_percent" in res:
            observed = f"{res.get('unexpected_percent') or 0:.4f}% unexpected"
        if hasattr(observed, "item"):  # numpy scalar -> plain Python for metadata
            observed = observed.item()
        severity = getattr(cfg, "severity", None) or getattr(getattr(r, "expectation_config", None), "severity", None)
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=column,
                success=bool(r.success),
                observed=observed,
                unexpected_count=res.get("unexpected_count"),
                samples=samples[:SAMPLE_ROWS],
                severity=str(getattr(severity, "value", severity) or "critical").lower(),
            )
        )
    return outcomes


def _sample_rows(con, sql: str, pii: set[str]) -> list[str]:
    rel = con.execute(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}")
    names = [d[0] for d in rel.description]
    return [", ".join(f"{n}={_show(n, v, pii)}" for n, v in zip(names, row)) for row in rel.fetchall()]


def sources_needed(module: ModuleType) -> frozenset[str]:
    """The sources module.TABLE is built from (SOURCES; a raw table: its own source)."""
    declared = getattr(module, "SOURCES", None)
    if declared is not None:
        return frozenset(declared)
    from orchestration.extract.contracts import contracts

    schema, _, name = module.TABLE.partition(".")
    return frozenset({name}) if schema == "raw" and name in contracts() else frozenset()


def delivered_sources(con) -> frozenset[str]:
    """Sources that had a delivery (any file in raw._load_log: loaded, duplicate or refused)."""
    has_log = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_schema = 'raw' AND table_name = '_load_log'").fetchone()[0]
    return frozenset(s for (s,) in con.execute("SELECT DISTINCT source FROM raw._load_log").fetchall()) \
        if has_log else frozenset()


def _not_delivered(module: ModuleType, con) -> str | None:
    needed = sources_needed(module)
    if not needed or needed & delivered_sources(con):
        return None
    return "not delivered: " + ", ".join(sorted(needed))


def validate_table(
    module: ModuleType, warehouse: Path, *, run_id: str | None = None, record: bool = False
) -> SuiteOutcome:
    """Validate module.TABLE; with record=True, append the evaluation to quality.gate_history.
    A table none of whose sources was ever delivered is skipped (see SOURCES), not judged."""
    t0 = time.perf_counter()
    with connect(warehouse, read_only=True) as con:
        skipped = _not_delivered(module, con)
    if skipped:
        name = getattr(module, "CHECK_NAME", None) or module.__name__.rsplit(".", 1)[-1]
        return SuiteOutcome(suite=name, table=module.TABLE, success=True, rows=0, expectations=[], blocking=False,
                            seconds=round(time.perf_counter() - t0, 3), skipped=skipped)
    ctx, ds = _context()  # suites must be built while a GX context is active
    suite = module.build_suite()
    check = getattr(module, "CHECK_NAME", None) or module.__name__.rsplit(".", 1)[-1]
    pii = set(getattr(module, "PII_COLUMNS", set()))
    keys = list(getattr(module, "SAMPLE_KEYS", []))
    track_volume = bool(getattr(module, "TRACK_VOLUME", False))
    now = datetime.now(UTC).replace(tzinfo=None)

    # 1. read (read-only, closed before GX runs): the frame, the table's row count, the history
    with connect(warehouse, read_only=True) as con:
        last_pass_at, last_pass_rows = _history(con, check)
        gate = GateContext(module.TABLE, check, now, last_pass_at, last_pass_rows)
        if hasattr(module, "query"):
            sql = call_with_gate(module.query, gate)
        else:
            cols = _columns_of(suite)
            sql = f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols) if cols else '*'} FROM {module.TABLE}"
        df = con.execute(sql).df()
        table_rows = con.execute(f"SELECT count(*) FROM {module.TABLE}").fetchone()[0]
    read_seconds = time.perf_counter() - t0

    # 2. validate with GX
    result = _validate(ctx, ds, module.TABLE, suite, df, keys)
    outcomes = _outcomes(result, pii, keys)
    if track_volume and last_pass_rows is not None:
        vol = _validate(ctx, ds, module.TABLE + "__volume", _volume_suite(suite.name, table_rows, last_pass_rows),
                        pd.DataFrame({"row_count": [table_rows]}), [])
        outcomes += _outcomes(vol, pii, [])

    # 3. offending rows of failed aggregate expectations (only on failure: no cost when green)
    failed_columns = {o.column for o in outcomes if not o.success and o.column}
    sample_sql = call_with_gate(module.samples, gate) if hasattr(module, "samples") and failed_columns else {}
    wanted = {c: s for c, s in sample_sql.items() if c in failed_columns}
    if wanted:
        with connect(warehouse, read_only=True) as con:
            for o in outcomes:
                if not o.success and o.column in wanted:
                    o.samples = _sample_rows(con, wanted[o.column], pii)

    suite_warns = getattr(module, "SEVERITY", "ERROR") == "WARN"
    failed = [o for o in outcomes if not o.success]
    blocking = (not suite_warns) and any(o.severity == "critical" for o in failed)
    outcome = SuiteOutcome(
        suite=suite.name,
        table=module.TABLE,
        success=not failed,
        rows=len(df),
        seconds=0.0,
        expectations=outcomes,
        blocking=blocking,
        table_rows=table_rows,
        read_seconds=round(read_seconds, 3),
    )
    if record:
        record_history(warehouse, outcome, check, run_id, now)
    outcome.seconds = round(time.perf_counter() - t0, 3)
    return outcome


def call_with_gate(fn, gate: GateContext):
    """Suites may define query()/samples() with or without the gate argument."""
    return fn(gate) if inspect.signature(fn).parameters else fn()
