"""`cdw check FILE --source NAME [--preset P]`: a file against its contract, without loading it.

The counts come from loader.check_file, which runs the loader's own parse and checks in a
throw-away in-memory database: what it reports is what `cdw run` would load. The report, like
every loader message, names columns, lines and reasons, never a value of a row.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from orchestration.extract.contracts import ContractError, contracts, with_preset
from orchestration.extract.loader import FileLoad, check_file


def report(result: FileLoad, source: str, preset: str | None) -> str:
    lines = [f"{result.file}: checked against source {source}" + (f" (preset {preset})" if preset else "")]
    if result.status == "refused":
        lines.append(f"  REFUSED: {result.message}")
        lines.append("  result: CONTRACT VIOLATION (the whole file would be refused)")
        return "\n".join(lines)
    if result.unmapped_columns:
        lines.append(f"  unmapped columns (ignored): {result.unmapped_columns}")
    if result.missing_columns:
        lines.append(f"  missing columns (loaded as NULL): {result.missing_columns}")
    lines.append(f"  rows read {result.rows_read}: would load {result.rows_loaded}, rejected "
                 f"{result.rows_quarantined}, duplicates {result.rows_duplicate}")
    for reason, n in result.rejects_by_reason.items():
        lines.append(f"    rejected: {reason}: {n}")
    lines.append(f"  field issues (field loaded as NULL, row kept): {result.field_issues} in "
                 f"{result.rows_with_field_issues} rows")
    for column, reasons in result.issues_by_column.items():
        lines.append(f"    {column}: " + "; ".join(f"{r} {n}" for r, n in reasons.items()))
    if result.rows_quarantined:
        lines.append(f"  result: CONTRACT VIOLATION ({result.rows_quarantined} rows would be rejected)")
    else:
        lines.append("  result: OK" + (" (with field issues)" if result.field_issues else ""))
    return "\n".join(lines)


def run_check(file: str, source: str, preset: str | None = None, as_json: bool = False) -> int:
    """Print the report; 0 when every row would load (field issues allowed), 1 on a contract
    violation (a refused file or rejected rows), 2 on a usage error."""
    path = Path(file)
    known = contracts()
    if source not in known:
        print(f"unknown source {source!r} (one of {sorted(known)})")
        return 2
    if not path.is_file():
        print(f"{file}: not a file")
        return 2
    try:
        contract = with_preset(known[source], preset) if preset else known[source]
    except ContractError as exc:
        print(str(exc))
        return 2
    result = check_file(contract, path)
    print(json.dumps(asdict(result), indent=2) if as_json else report(result, source, preset))
    return 1 if result.status == "refused" or result.rows_quarantined else 0
