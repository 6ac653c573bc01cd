"""`cdw`: the command line of Customer Warehouse.

  cdw generate --people N --seed S   demo sources into $CDW_HOME/landing/
  cdw run                            materialize everything through Dagster, print a summary
  cdw sql "SELECT ..."               query the analyst snapshot (the warehouse before the first one)
  cdw erase <email|phone|customer_id>   right to erasure (needs CDW_ERASURE_KEY)
  cdw access <email|phone|customer_id>  right of access: one JSON about the person
  cdw summary                        print the summary of the current warehouse again
  cdw check FILE --source NAME [--preset salesforce]   check a file against its contract, load nothing
  cdw explain <email|phone|customer_id>  records, identifiers, matches and guardrail refusals of a person
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date

from orchestration import settings


def _fail(msg: str, code: int = 2) -> int:
    print(f"cdw: error: {msg}", file=sys.stderr)
    return code


def cmd_generate(args) -> int:
    from orchestration.demo.generator import DEFAULT_END_DATE, generate

    settings.prepare_home()
    end = date.fromisoformat(args.end_date) if args.end_date else DEFAULT_END_DATE
    t0 = time.perf_counter()
    summary = generate(settings.landing_dir(), people=args.people, seed=args.seed, end_date=end, days=args.days,
                       hard=args.hard)
    print(f"generated demo sources for {args.people} people (seed {args.seed}) into {settings.landing_dir()} "
          f"in {time.perf_counter() - t0:.1f}s")
    for k, v in summary.items():
        if isinstance(v, (int, float, str)):
            print(f"  {k}: {v}")
    return 0


def landing_has_sources() -> bool:
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import source_files

    return any(source_files(c, settings.landing_dir()) for c in contracts().values())


def cmd_run(args) -> int:
    settings.prepare_home()
    if not landing_has_sources():
        return _fail(f"no source files in {settings.landing_dir()}: run `cdw generate` first (or `make run`)")
    from orchestration.runner import run_pipeline

    t0 = time.perf_counter()
    result = run_pipeline(log_level=args.log_level, rebuild=args.rebuild)
    seconds = time.perf_counter() - t0
    checks = result.get_asset_check_evaluations()
    print_summary(result.run_id, result.success, seconds, checks)
    if result.success and not any(e.asset_key.path[0] == "marts" for e in result.get_asset_materialization_events()):
        print("Nothing the warehouse build reads changed since the last successful run: the marts, gate, exports and "
              "snapshot above are that run's (`cdw run --rebuild` rebuilds anyway).")
    if not result.success:
        failed_steps = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nRUN FAILED (run id {result.run_id}); failed steps: {', '.join(failed_steps) or 'see UI'}", file=sys.stderr)
        for ev in result.all_events:
            if ev.is_step_failure and ev.step_failure_data and ev.step_failure_data.error:
                print(f"  {ev.step_key}: {ev.step_failure_data.error.message.strip()[:500]}", file=sys.stderr)
        return 1
    return 0


def _table_counts(con) -> dict[str, list[tuple[str, int]]]:
    layers: dict[str, list[tuple[str, int]]] = {}
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw','quarantine','staging','intermediate','marts') ORDER BY 1, 2"
    ).fetchall()
    for schema, name in tables:
        n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
        layers.setdefault(schema, []).append((name, n))
    return layers


def print_sources(con) -> None:
    """Which sources the warehouse has had deliveries of; a source never delivered is said once."""
    from data_quality.runner import delivered_sources
    from orchestration.extract.contracts import contracts

    delivered = delivered_sources(con)
    files = dict(con.execute("SELECT source, count(*) FROM raw._load_log WHERE status = 'loaded' GROUP BY 1").fetchall()
                 ) if delivered else {}
    had = [f"{name} ({files.get(name, 0)} file{'s' if files.get(name, 0) != 1 else ''})"
           for name in contracts() if name in delivered]
    never = [name for name in contracts() if name not in delivered]
    print(f"Sources delivered: {', '.join(had) or 'none'}")
    if never:
        print(f"  WARN  never delivered: {', '.join(never)} (their gates are skipped, what they feed is empty)")


def _gate_status(check) -> str:
    """PASS / WARN / FAIL / SKIP of a check evaluation (GX gates say which in their metadata)."""
    status = check.metadata.get("status")
    status = status.value if status is not None else None
    if status == "skipped":
        return "SKIP"
    if check.passed:
        return "PASS"
    from dagster import AssetCheckSeverity

    return "WARN" if status == "warns" or check.severity == AssetCheckSeverity.WARN else "FAIL"


def print_gate(checks) -> None:
    gx = [c for c in checks if c.asset_check_key.name.startswith("gx_")]
    dbt_tests = [c for c in checks if not c.asset_check_key.name.startswith("gx_")]
    failed_tests = [c for c in dbt_tests if not c.passed]
    status = {id(c): _gate_status(c) for c in gx}
    counts = {s: sum(1 for v in status.values() if v == s) for s in ("PASS", "WARN", "FAIL", "SKIP")}
    print(f"Quality gate: {counts['PASS']}/{len(gx)} GX suites passed"
          + "".join(f", {n} {label}" for label, n in (("warn", counts["WARN"]), ("failed", counts["FAIL"]),
                                                       ("skipped", counts["SKIP"])) if n)
          + f"; {len(dbt_tests) - len(failed_tests)}/{len(dbt_tests)} dbt tests passed")
    for c in gx:
        reason = c.metadata.get("skipped_reason")
        print(f"  {status[id(c)]:<5} {c.asset_check_key.to_user_string()}" + (f"  ({reason.value})" if reason else ""))
    for c in failed_tests:
        print(f"  {_gate_status(c):<5} {c.asset_check_key.to_user_string()}")


def last_run():
    """(run, its check evaluations) of the newest run in the Dagster instance of CDW_HOME, or (None, [])."""
    from dagster import DagsterEventType, DagsterInstance

    if not (settings.dagster_home() / "dagster.yaml").exists():
        return None, []
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return None, []
        run = runs[0]
        records = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
                                               limit=100_000).records
        stats = instance.get_run_stats(run.run_id)
    checks = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    return (run, stats), checks


def print_summary(run_id: str | None, success: bool | None, seconds: float | None, checks=None) -> None:
    from orchestration.governance.config import snapshot_path
    from orchestration.warehouse import connect

    wh = settings.warehouse_path()
    print()
    print("=" * 72)
    if run_id:
        print(f"Customer Warehouse run {run_id}: {'SUCCESS' if success else 'FAILED'} in {seconds:.1f}s")
    else:
        print(f"Customer Warehouse at {settings.cdw_home()}")
    print("=" * 72)
    if not wh.exists():
        print(f"no warehouse yet at {wh}")
        return
    with connect(wh, read_only=True) as con:
        print_sources(con)
        layers = _table_counts(con)
        print("Rows per layer:")
        for schema in ("raw", "quarantine", "staging", "intermediate", "marts"):
            tables = layers.get(schema, [])
            total = sum(n for _, n in tables)
            detail = ", ".join(f"{t}={n}" for t, n in tables if not t.startswith("_"))
            print(f"  {schema:<13}{total:>10}  {detail}")
        from orchestration.extract.loader import summary_lines

        for line in summary_lines(con):  # field issues, delivery times standing in
            print(line)
        marts = dict(layers.get("marts", []))
        if "customers" in marts:
            records = marts.get("customer_source_records", 0)
            print(f"Unified: {records} source records -> {marts['customers']} people; "
                  f"{marts.get('accounts', 0)} accounts")
        if "identity_accuracy" in marts:
            print_identity_accuracy(con)
    if checks is not None:
        print_gate(checks)
    exports = sorted(settings.exports_dir().rglob("*.manifest.json"))
    print("Exports:")
    for m in exports:
        info = json.loads(m.read_text())
        print(f"  {m.parent / info['file']}  ({info['rows']} rows, sha256 {info['sha256'][:12]}…)"
              + (f"  empty: {info['empty_reason']}" if info.get("empty_reason") else ""))
    if not exports:
        print("  none")
    print("Next:")
    print(f'  cdw sql "SELECT * FROM marts.customers LIMIT 5"      (CDW_HOME={settings.cdw_home()})')
    # while runs go, query the snapshot: a reader of the warehouse holds its lock and makes runs wait
    print(f"  .venv/bin/duckdb -readonly {snapshot_path()}   (the analyst snapshot; never locks a run)")
    print("  make ui   -> http://127.0.0.1:3000 (asset graph, checks, runs)")


def print_identity_accuracy(con) -> None:
    """The latest run's identity accuracy (marts.identity_accuracy)."""
    rows = con.execute("""
        select entity, records, clusters, match_rate, "precision", recall, f1 from marts.identity_accuracy
        where run_id = (select run_id from marts.identity_accuracy order by measured_at desc limit 1)
        order by entity desc""").fetchall()
    for entity, records, clusters, match_rate, precision, recall, f1 in rows:
        measured = (f"pairwise precision {precision:.4f}, recall {recall:.4f}, F1 {f1:.4f} (ground truth)"
                    if precision is not None else "no ground truth")
        print(f"Identity ({entity}): {records} records -> {clusters} clusters, match rate {match_rate:.3f}; {measured}")
    from orchestration.identity.matching import latest_report

    report = latest_report()
    if report is not None:
        print(f"Identity (probabilistic matching, Splink): training evidence {report['evidence']}; "
              f"{report.get('candidate_pairs', 0)} candidate pairs, {report.get('matched_pairs', 0)} matched; "
              f"model and charts in {report['report_dir']}")


def cmd_explain(args) -> int:
    import duckdb

    from orchestration import warehouse
    from orchestration.identity.explain import explain

    wh = settings.warehouse_path()
    if not wh.exists():
        return _fail(f"no warehouse at {wh}: run `cdw run` first")
    try:
        with warehouse.connect(wh, read_only=True) as con:
            found, lines = explain(con, args.value)
    except warehouse.WarehouseBusy as exc:
        return _fail(str(exc))
    except duckdb.CatalogException as exc:
        return _fail(f"identity tables missing, run `cdw run` first: {str(exc).splitlines()[0]}")
    print("\n".join(lines))
    return 0 if found else 1


def cmd_summary(args) -> int:
    """The warehouse as it stands, with the newest run and its gate results from Dagster's history."""
    settings.prepare_home()
    last, checks = last_run()
    if last is None:
        print_summary(None, None, None)
        print("no run recorded yet in this CDW_HOME: `cdw run`")
        return 0
    run, stats = last
    seconds = (stats.end_time - stats.start_time) if stats.end_time and stats.start_time else None
    status = run.status.value
    print_summary(None, None, None, checks)
    when = ""
    if stats.start_time:
        from datetime import datetime

        when = f" started {datetime.fromtimestamp(stats.start_time, UTC):%Y-%m-%d %H:%M:%S} UTC"
    print(f"Last run: {run.run_id} ({run.job_name}) {status}{when}"
          + (f", {seconds:.1f}s" if seconds is not None else ""))
    return 0


def cmd_sql(args) -> int:
    """Analysts read the published snapshot (never locked by a run, never half-built); before the
    first snapshot exists, or with --warehouse, the warehouse itself, read-only."""
    import duckdb

    from orchestration.governance.config import snapshot_path

    snap = snapshot_path()
    use_snapshot = snap.exists() and not args.warehouse
    db = snap if use_snapshot else settings.warehouse_path()
    if not db.exists():
        return _fail(f"no warehouse at {db}: run `cdw run` first")
    from orchestration.warehouse import WarehouseBusy, connect

    try:
        # never wait on a run: an analyst is told at once (and the snapshot never has a writer)
        with connect(db, read_only=True, timeout=0) as con:
            rel = con.sql(args.query)
            if rel is None:
                return 0
            rel.show(max_rows=args.max_rows, max_width=args.max_width)
    except WarehouseBusy as exc:
        hint = "" if use_snapshot else "; query the analyst snapshot instead (without --warehouse), a run never locks it"
        return _fail(f"{str(exc).split(';')[0]}{hint}")
    except duckdb.IOException as exc:
        return _fail(f"cannot open {db}: {str(exc).splitlines()[0]}")
    except duckdb.Error as exc:
        return _fail(str(exc).strip().splitlines()[0])
    return 0


def cmd_erase(args) -> int:
    """Right to erasure: tombstone the person (keyed hashes), scrub published files now, then a
    run purges raw and rebuilds everything and the erasure check scans every table and file."""
    from orchestration.governance.erasure import ErasureError, request_erasure, scan

    settings.prepare_home()
    try:
        summary = request_erasure(args.identifier, via="cli")
    except ErasureError as exc:
        return _fail(str(exc))
    print(f"erasure {summary['erasure_id']} recorded: {summary['customers']} customer(s), "
          f"{summary['source_records']} source record(s), {summary['identifiers']} identifier form(s) tombstoned; "
          f"{summary['published_rows_scrubbed']} published row(s) scrubbed at once")
    if args.no_run:
        print("the next run purges raw data and rebuilds staging, marts, exports and the snapshot")
        return 0
    if not landing_has_sources():
        return 0
    from orchestration.runner import run_pipeline

    result = run_pipeline(log_level=args.log_level)
    if not result.success:
        from orchestration.governance.crm_erasure import pending

        waiting = pending().get(summary["erasure_id"])
        if waiting:
            return _fail(f"erased in the warehouse (run {result.run_id}), but the CRM has not accepted the GDPR delete "
                         f"of {waiting['sealed_contacts']} contact(s) yet ({waiting['last_error']}): it stays queued "
                         "and the next run retries it", 1)
        return _fail(f"the pipeline run after the erasure failed (run {result.run_id}); the tombstone stays "
                     "in force and the next run enforces it", 1)
    found = scan()["findings"]
    if found:
        return _fail("erased identifiers still found in: " + ", ".join(sorted(found)), 1)
    print(f"run {result.run_id}: erased everywhere (warehouse, snapshot, exports scanned: nothing left)")
    return 0


def cmd_access(args) -> int:
    """Right of access: one JSON with everything held about the person."""
    from orchestration.governance.access import export_access
    from orchestration.governance.erasure import ErasureError

    settings.prepare_home()
    try:
        path, doc = export_access(args.identifier)
    except ErasureError as exc:
        return _fail(str(exc))
    if not doc["customer_ids"]:
        print(f"no person found for that identifier; wrote an empty access report to {path}")
    else:
        print(f"access report for {len(doc['customer_ids'])} customer(s) written to {path}")
    return 0


def cmd_check(args) -> int:
    from orchestration.extract.check import run_check

    return run_check(args.file, args.source, args.preset, args.json)


def cmd_prepare(args) -> int:
    """What `dagster dev -w workspace.yaml` needs before it starts (`make ui` runs this first): the
    folders and Dagster instance of CDW_HOME, and a dbt manifest that matches the project (dbt
    parse when it is missing or older than the project's files). Importing the definitions
    prepares nothing."""
    settings.prepare_home()
    from orchestration.defs.dbt.project import prepare_manifest

    manifest = prepare_manifest()
    print(f"CDW_HOME {settings.cdw_home()} ready (Dagster instance {settings.dagster_home()}); dbt manifest {manifest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cdw", description="Customer Warehouse command line")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate demo sources into $CDW_HOME/landing/")
    g.add_argument("--people", type=int, default=3000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--days", type=int, default=30, help="days of web events")
    g.add_argument("--end-date", default=None, help="last day of events (YYYY-MM-DD)")
    g.add_argument("--hard", action="store_true",
                   help="hard mode: nicknames, swapped names, typos, missing emails, family phones, shared devices")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="run the whole pipeline through Dagster")
    r.add_argument("--log-level", default="INFO", help="Dagster console log level (DEBUG shows every event)")
    r.add_argument("--rebuild", action="store_true",
                   help="rebuild the warehouse even when nothing it reads changed since the last successful run")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("sql", help="query the analyst snapshot read-only (never locked by a run)")
    s.add_argument("query")
    s.add_argument("--max-rows", type=int, default=40)
    s.add_argument("--max-width", type=int, default=160)
    s.set_defaults(func=cmd_sql)

    s.add_argument("--warehouse", action="store_true",
                   help="query the warehouse itself, not the analyst snapshot (between runs: a reader makes runs wait)")

    er = sub.add_parser("erase", help="right to erasure: forget a person (email, phone or customer_id) everywhere")
    er.add_argument("identifier")
    er.add_argument("--no-run", action="store_true", help="record the erasure; let the next run enforce it")
    er.add_argument("--log-level", default="WARNING")
    er.set_defaults(func=cmd_erase)

    ac = sub.add_parser("access", help="right of access: write one JSON with everything held about a person")
    ac.add_argument("identifier")
    ac.set_defaults(func=cmd_access)

    sm = sub.add_parser("summary", help="print the warehouse summary")
    sm.set_defaults(func=cmd_summary)

    ck = sub.add_parser("check", help="check a file against its source contract without loading it")
    ck.add_argument("file")
    ck.add_argument("--source", required=True, help="the source of sources.yml the file belongs to")
    ck.add_argument("--preset", default=None, help="read it as a preset export shape (e.g. salesforce, hubspot)")
    ck.add_argument("--json", action="store_true", help="the counts as JSON")
    ck.set_defaults(func=cmd_check)

    ex = sub.add_parser("explain", help="why a person is who they are: records, edges, matches, refusals")
    ex.add_argument("value", help="an email, a phone number or a customer_id")
    ex.set_defaults(func=cmd_explain)

    pr = sub.add_parser("prepare", help="create CDW_HOME and parse the dbt manifest: what `dagster dev` needs (make ui)")
    pr.set_defaults(func=cmd_prepare)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
