"""The gate on a raw source table, derived from its contract in orchestration/sources.yml.

Everything is pushed down to DuckDB as one row of metrics; the suite bounds them:
  row_count                        > 0                      (warning: a source with no data yet)
  missing__<field>                 = 0  per required field  (critical)
  needs_one_of__<a>_<b>            = 0  per required_any    (critical)
  invalid__<field>                 = 0  per checked field   (critical: type, bounds, pattern)
  in_future__<field>               = 0  per past_only field (critical)
  not_allowed__<field>             = 0  per closed field    (critical)
  lineage_missing                  = 0  (_file, _line, _load_id, _loaded_at)
  worst_delivery_quarantine_rate   <= CDW_GATE_MAX_QUARANTINE_RATE (default 5%)   (critical)
                                      rejected rows only (a row without its id, unparseable)
  worst_delivery_field_issue_rate  <= CDW_GATE_MAX_FIELD_ISSUE_RATE (default 5%)  (warning)
                                      rows with a field loaded as NULL (quarantine.field_issues)
  refused_deliveries               = 0  (warning: the file is named in raw._load_log)
  hours_since_last_delivery        <= CDW_GATE_FRESHNESS_HOURS (default 48)       (warning)

The contract metrics use the loader's own field checks (orchestration/extract/fields.py): raw
holds only what passed them, so they fail only when raw was written around the loader.

Raw is append-only and every row was checked when it was loaded, so the contract metrics only
scan rows loaded since the last passing evaluation (an incremental run re-checks nothing old).
Deliveries are judged in the same window. A delivery over a rate threshold is named with how
to clear it (the samples): re-deliver the file fixed under the same name (its rows are
replaced), or remove it from landing (the gate stops judging it; what loaded stays); a later
delivery of the same source under the threshold also clears it. No manual step in the
warehouse, and no silent pass either.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from data_quality import config
from data_quality.runner import GateContext
from orchestration.extract.contracts import SourceContract, contracts
from orchestration.extract.fields import FUTURE_TOLERANCE, field_sql, lit
from orchestration.extract.loader import q

if TYPE_CHECKING:  # GX takes seconds to import: only building a suite imports it
    import great_expectations as gx

TO_CLEAR = "re-deliver it fixed under the same name, or remove it from landing"  # (samples show 80 chars)


def _metric(prefix: str, *fields: str) -> str:
    return prefix + "__" + "_".join(re.sub(r"\W", "_", f) for f in fields)


class RawSuite:
    """build_suite / query / samples for one source's raw table."""

    def __init__(self, source: str):
        self.source = source

    @property
    def contract(self) -> SourceContract:
        return contracts()[self.source]

    @property
    def table(self) -> str:
        return self.contract.table

    def _fields(self) -> list[str]:
        c = self.contract
        names = [*c.required, *(f for g in c.required_any for f in g), *c.types, *c.allowed, *c.patterns]
        return list(dict.fromkeys(names))

    def _field(self, c: str) -> str:
        if self.contract.format == "csv":
            return q(c)
        return f"_f[{self._fields().index(c) + 1}]"  # parsed once per row in _rows()

    def _rows(self, gate: GateContext) -> str:
        """The rows to re-check: loaded since the last passing evaluation (JSON parsed once)."""
        since = f"_loaded_at > {gate.ts(gate.last_pass_at)}"
        if self.contract.format == "csv":
            return f"SELECT * FROM {self.table} WHERE {since}"
        paths = ", ".join(lit("$." + f) for f in self._fields())
        return f"SELECT *, json_extract_string(payload, [{paths}]) AS _f FROM {self.table} WHERE {since}"

    def _rules(self) -> dict[str, str]:
        """metric name -> SQL condition true for an offending row."""
        c = self.contract
        # type, bounds, pattern: "invalid" (raw holds dates as ISO whatever format the file had)
        shape_only = replace(c, allowed={}, past_only=(), formats={})
        rules = {}
        for f in c.required:
            rules[_metric("missing", f)] = f"coalesce(trim({self._field(f)}), '') = ''"
        for group in c.required_any:
            rules[_metric("needs_one_of", *group)] = " AND ".join(
                f"coalesce(trim({self._field(f)}), '') = ''" for f in group
            )
        for f in dict.fromkeys([*c.types, *c.patterns]):
            v = self._field(f)
            rules[_metric("invalid", f)] = f"{field_sql(shape_only, f, v)[1]} IS NOT NULL"
            if f in c.past_only:
                parsed = f"try_cast(trim({v}) AS {'DATE' if c.types[f] == 'date' else 'TIMESTAMP'})"
                now = "current_date" if c.types[f] == "date" else "now()::TIMESTAMP"
                rules[_metric("in_future", f)] = f"coalesce({parsed} > {now} + {FUTURE_TOLERANCE}, false)"
        for f, values in c.allowed.items():
            v = self._field(f)
            rules[_metric("not_allowed", f)] = (
                f"coalesce(trim({v}), '') <> '' AND lower(trim({v})) NOT IN ({', '.join(lit(x.lower()) for x in values)})"
            )
        rules["lineage_missing"] = "_file IS NULL OR _line IS NULL OR _load_id IS NULL OR _loaded_at IS NULL"
        return rules

    def build_suite(self) -> gx.ExpectationSuite:
        import great_expectations as gx
        import great_expectations.expectations as gxe

        suite = gx.ExpectationSuite(name=f"raw_{self.source}")
        suite.add_expectation(gxe.ExpectColumnMinToBeBetween(column="row_count", min_value=1, severity="warning"))
        # informational: how many rows this evaluation re-checked (0 when nothing new was loaded)
        suite.add_expectation(gxe.ExpectColumnMinToBeBetween(column="rows_checked", min_value=0, severity="info"))
        for metric in self._rules():
            suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column=metric, max_value=0))
        suite.add_expectation(
            gxe.ExpectColumnMaxToBeBetween(column="worst_delivery_quarantine_rate", max_value=config.max_quarantine_rate())
        )
        suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(
            column="worst_delivery_field_issue_rate", max_value=config.max_field_issue_rate(), severity="warning"))
        suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column="refused_deliveries", max_value=0, severity="warning"))
        suite.add_expectation(
            gxe.ExpectColumnMaxToBeBetween(
                column="hours_since_last_delivery", max_value=config.freshness_hours(), severity="warning"
            )
        )
        return suite

    def _deliveries(self, gate: GateContext, rate: str, threshold: float) -> str:
        """This source's deliveries in the window still in landing, with `rate` and whether a later
        delivery under the threshold forgave them (a replaced or removed file is not judged)."""
        return f"""
            WITH d AS (
                SELECT file, rows_read, rows_quarantined, rows_with_field_issues, loaded_at,
                       {rate} AS rate
                FROM raw._load_log
                WHERE source = {lit(self.source)} AND status = 'loaded' AND rows_read > 0
                  AND removed_at IS NULL AND loaded_at > {gate.ts(gate.last_pass_at)}
            )
            SELECT d.*, EXISTS (SELECT 1 FROM d AS later WHERE later.loaded_at > d.loaded_at
                                AND later.rate <= {threshold}) AS forgiven
            FROM d"""

    def _rejected(self, gate: GateContext) -> str:
        return self._deliveries(gate, "rows_quarantined::DOUBLE / rows_read", config.max_quarantine_rate())

    def _with_issues(self, gate: GateContext) -> str:
        return self._deliveries(gate, "coalesce(rows_with_field_issues, 0)::DOUBLE / rows_read",
                                config.max_field_issue_rate())

    def query(self, gate: GateContext) -> str:
        metrics = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {q(name)}" for name, cond in self._rules().items())
        return f"""
            SELECT (SELECT count(*) FROM {self.table}) AS row_count, count(*) AS rows_checked, {metrics},
                (SELECT coalesce(max(rate), 0) FROM ({self._rejected(gate)}) WHERE NOT forgiven)
                    AS worst_delivery_quarantine_rate,
                (SELECT coalesce(max(rate), 0) FROM ({self._with_issues(gate)}) WHERE NOT forgiven)
                    AS worst_delivery_field_issue_rate,
                (SELECT count(*) FROM raw._load_log WHERE source = {lit(self.source)} AND status = 'refused'
                    AND removed_at IS NULL AND loaded_at > {gate.ts(gate.last_pass_at)}) AS refused_deliveries,
                (SELECT coalesce(date_diff('second', max(loaded_at), {gate.ts(gate.now)}) / 3600.0, 1e9)
                    FROM raw._load_log WHERE source = {lit(self.source)} AND status = 'loaded')
                    AS hours_since_last_delivery
            FROM ({self._rows(gate)})"""

    def samples(self, gate: GateContext) -> dict[str, str]:
        out = {name: f"SELECT _file, _line FROM ({self._rows(gate)}) WHERE {cond}" for name, cond in self._rules().items()}
        out["worst_delivery_quarantine_rate"] = (
            f"SELECT file, rows_read, rows_quarantined, round(rate, 4) AS quarantine_rate, {lit(TO_CLEAR)} AS to_clear "
            f"FROM ({self._rejected(gate)}) WHERE NOT forgiven AND rate > {config.max_quarantine_rate()} "
            "ORDER BY rate DESC"
        )
        out["worst_delivery_field_issue_rate"] = (
            f"SELECT file, rows_read, rows_with_field_issues, round(rate, 4) AS field_issue_rate "
            f"FROM ({self._with_issues(gate)}) WHERE NOT forgiven AND rate > {config.max_field_issue_rate()} "
            "ORDER BY rate DESC"
        )
        out["refused_deliveries"] = (
            f"SELECT file, left(message, 200) AS problem, {lit(TO_CLEAR)} AS to_clear FROM raw._load_log "
            f"WHERE source = {lit(self.source)} AND status = 'refused' AND removed_at IS NULL "
            f"AND loaded_at > {gate.ts(gate.last_pass_at)} ORDER BY loaded_at DESC"
        )
        return out
