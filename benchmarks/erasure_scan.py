"""Erasure at scale: what forgetting a few people costs on a built warehouse.

`measure_erasure(home)` works on an already built CDW_HOME (after `cdw run`, e.g. the benchmark's
full run of a scale) and changes it: it erases a few real people and times the three parts of an
erasure that grow with the warehouse:

- erase: the request (resolve the person in the warehouse, write the tombstone, scrub the
  published files and the analyst snapshot at once);
- purge: the enforcement every extract load runs, on every raw table and the quarantine, without
  rebuilding anything (dbt rebuilds staging and marts from the purged raw in the next run);
- scan: the post-run proof (every table of the warehouse and the snapshot, every export and
  access file), here before that rebuild, so it still finds the people in staging and marts;
  then the same proof again with nothing changed, which reads only what still held someone.

    .venv/bin/python -c "from benchmarks.erasure_scan import measure_erasure; print(measure_erasure(Path(...)))"
    python -m benchmarks.erasure_scan $CDW_HOME

Needs CDW_ERASURE_KEY; without it a fixed benchmark key is used (the home is a throwaway).
Returns counts and seconds only, never an identifier.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb

BENCH_KEY = "cdw-benchmark-erasure-key-not-a-secret"


def _pick_people(warehouse: Path, n: int) -> list[str]:
    """Emails of `n` people with a CRM contact, spread over the population (deterministic)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [e for (e,) in con.execute(
            """SELECT c.email FROM marts.customers c
               WHERE c.email IS NOT NULL AND EXISTS (SELECT 1 FROM marts.customer_source_records m
                     WHERE m.customer_id = c.customer_id AND m.source = 'crm_contacts')
               ORDER BY hash(c.customer_id) LIMIT ?""", [n]).fetchall()]


def measure_erasure(home: Path, people: int = 3) -> dict:
    from orchestration import settings
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import connect
    from orchestration.governance import erasure

    previous = {k: os.environ.get(k) for k in ("CDW_HOME", erasure.KEY_ENV)}
    os.environ["CDW_HOME"] = str(Path(home).resolve())
    os.environ.setdefault(erasure.KEY_ENV, BENCH_KEY)
    try:
        settings.prepare_home()
        warehouse = settings.warehouse_path()
        if not warehouse.exists():
            raise FileNotFoundError(f"no warehouse at {warehouse}: build it first (cdw generate, cdw run)")
        emails = _pick_people(warehouse, people)

        t0 = time.perf_counter()
        requests = [erasure.request_erasure(e, via="benchmark") for e in emails]
        erase_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        purged = {"erased_rows": 0, "nulled_phones": 0, "quarantine_rows_erased": 0}
        with connect() as con:
            for source in contracts():
                result = erasure.enforce_after_load(con, source)
                for k in purged:
                    purged[k] += result.get(k, 0)
        purge_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        found = erasure.scan()
        scan_s = time.perf_counter() - t0

        # the next verification, nothing changed since: what the first found clean is not read again
        t0 = time.perf_counter()
        again = erasure.scan()
        rescan_s = time.perf_counter() - t0
        return {
            "people_erased": len(requests),
            "source_records": sum(r["source_records"] for r in requests),
            "erase_seconds": round(erase_s, 3),
            "purge_seconds": round(purge_s, 3),
            "purge_raw_rows_erased": purged["erased_rows"],
            "purge_phones_nulled": purged["nulled_phones"],
            "purge_quarantine_rows_erased": purged["quarantine_rows_erased"],
            "scan_seconds": round(scan_s, 3),
            "scan_rows_scanned": found["rows_scanned"],
            "scan_tables_scanned": found["tables_scanned"],
            "rescan_seconds": round(rescan_s, 3),
            "rescan_rows_scanned": again["rows_scanned"],
            "rescan_rows_verified_before": again["rows_verified_before"],
            "scan_files_scanned": found["files_scanned"],
            # before the rebuild: staging, marts and the like still hold them (the next run rebuilds)
            "scan_locations_still_holding_before_rebuild": len(found["findings"]),
            "erasures_in_ledger": found["erasures"],
        }
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.erasure_scan <CDW_HOME of a built warehouse>")
    try:
        print(json.dumps(measure_erasure(Path(sys.argv[1])), indent=2))
    except (FileNotFoundError, duckdb.Error) as exc:
        sys.exit(f"erasure benchmark: {exc}")
