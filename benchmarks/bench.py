"""`make bench`: the pipeline against the cost of just touching the data, at scales S, M (and L).

For each scale, in one process tree and one sitting:
  1. floor        DuckDB alone reads every raw file once and computes one simple aggregate per source
  2. full         the whole pipeline, cold (empty warehouse), through Dagster, in a child process;
                  per-stage wall time from the run's step events and dbt's run_results.json,
                  peak RSS of the child's process tree (sampled from /proc)
  3. incremental  one new day of web events + 1% changed CRM contacts, then the pipeline again;
                  then once more with nothing new (the warehouse build skips: what an idle scheduled run costs)
  4. dbt build    `dbt build` alone on the same warehouse (orchestration overhead = full - extract - dbt - ...)
Then the FEBRL section (benchmarks/febrl.py): FEBRL3 and FEBRL4 without soc_sec_id through `cdw run`,
pairwise precision / recall / F1 beside Splink's documented FEBRL model on the same records.

Results: a table on stdout, benchmarks/results/<timestamp>.{json,md} (not committed).
Generated sources are cached in $CDW_BENCH_HOME (default .bench/) between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCALES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
SEED = 42


# ----------------------------------------------------------------------------- process tree RSS
def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            out.extend(int(k) for k in kids)
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _rss_kb(p)
        stack.extend(_children(p))
    return total


def run_measured(cmd: list[str], env: dict, log: Path) -> tuple[float, int, int]:
    """Run a command; return (wall seconds, peak RSS of its process tree in MB, exit code)."""
    peak = 0
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss_kb(proc.pid))
                stop.wait(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        rc = proc.wait()
        stop.set()
        t.join()
        wall = time.perf_counter() - t0
    return wall, peak // 1024, rc


# ----------------------------------------------------------------------------- data
def ensure_sources(home: Path, people: int) -> dict:
    marker = home / "landing" / "_truth" / "summary.json"
    if marker.exists() and json.loads(marker.read_text()).get("people") == people:
        return json.loads(marker.read_text())
    shutil.rmtree(home / "landing", ignore_errors=True)
    sys.path.insert(0, str(REPO))
    from orchestration.demo.generator import generate

    t0 = time.perf_counter()
    generate(home / "landing", people=people, seed=SEED)
    print(f"  generated {people} people in {time.perf_counter() - t0:.1f}s", flush=True)
    return json.loads(marker.read_text())


def input_rows(landing: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect()
    counts = {}
    for name, pattern in FLOOR_SOURCES.items():
        files = sorted(landing.glob(pattern[0]))
        if files:
            counts[name] = con.execute(f"SELECT count(*) FROM ({pattern[1]})", [[str(f) for f in files]]).fetchone()[0]
    return counts


# One simple aggregate per source, over the same files the pipeline reads.
FLOOR_SOURCES = {
    "crm_contacts": ("crm/contacts/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "crm_companies": ("crm/companies/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "crm_deals": ("crm/deals/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "web_events": ("web/events/*.jsonl*", "SELECT * FROM read_csv($1, columns={'line': 'VARCHAR'}, header=false, auto_detect=false, delim=chr(30), quote='', escape='')"),
    "email_members": ("marketing/email_members/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "email_campaigns": ("marketing/email_campaigns/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "email_events": ("marketing/email_events/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
    "ad_spend": ("marketing/ad_spend/*.csv*", "SELECT * FROM read_csv($1, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)"),
}
FLOOR_AGGREGATES = {
    "crm_contacts": "count(DISTINCT lower(email))",
    "crm_companies": "count(DISTINCT domain)",
    "crm_deals": "sum(try_cast(amount AS DOUBLE))",
    "web_events": "count(DISTINCT CASE WHEN json_valid(line) THEN json_extract_string(line, '$.anonymousId') END)",
    "email_members": "count(DISTINCT email_address)",
    "email_campaigns": "count(*)",
    "email_events": "count(DISTINCT member_id)",
    "ad_spend": "sum(try_cast(spend AS DOUBLE))",
}


def floor_seconds(landing: Path) -> float:
    """DuckDB alone: read each source's files once, one aggregate each (in this process)."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    for name, (pattern, scan) in FLOOR_SOURCES.items():
        files = sorted(landing.glob(pattern))
        if files:
            con.execute(f"SELECT {FLOOR_AGGREGATES[name]} FROM ({scan})", [[str(f) for f in files]]).fetchall()
    return time.perf_counter() - t0


def add_increment(landing: Path) -> dict:
    """One new day of web events (the last day's traffic, shifted a day, new ids) and 1% of CRM
    contacts changed (new job title, newer lastmodifieddate) as a new delivery."""
    import duckdb

    days = sorted((landing / "web" / "events").glob("*.jsonl"))
    last = days[-1]
    new_day = datetime.strptime(last.name[:10], "%Y-%m-%d").date() + timedelta(days=1)
    target = last.with_name(f"{new_day.isoformat()}.jsonl")
    old_prefix = last.name[:10]
    pat = re.compile(r'"(messageId|anonymousId)":"([^"]*)"')
    n = 0
    with last.open() as src, target.open("w") as dst:
        for line in src:
            line = line.replace(old_prefix, new_day.isoformat())
            line = pat.sub(lambda m: f'"{m.group(1)}":"{m.group(2)}-d{new_day:%m%d}"', line)
            dst.write(line)
            n += 1
    contacts = sorted((landing / "crm" / "contacts").glob("*.csv"))[0]
    delta = contacts.with_name(f"contacts_delta_{new_day:%Y%m%d}.csv")
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
            SELECT * REPLACE ('Senior ' || coalesce(jobtitle, 'Analyst') AS jobtitle,
                              '{new_day.isoformat()}T08:00:00Z' AS lastmodifieddate)
            FROM read_csv(?, header=true, all_varchar=true, strict_mode=false, ignore_errors=true)
            WHERE hash(hs_object_id) % 100 = 0 AND try_cast(hs_object_id AS BIGINT) IS NOT NULL
        ) TO '{delta}' (HEADER, DELIMITER ',')
        """,
        [str(contacts)],
    )
    changed = con.execute(f"SELECT count(*) FROM read_csv('{delta}', header=true)").fetchone()[0]
    return {"new_day": new_day.isoformat(), "web_events_added": n, "crm_contacts_changed": changed}


def remove_increment(landing: Path) -> None:
    for p in (landing / "crm" / "contacts").glob("contacts_delta_*.csv"):
        p.unlink()
    summary = json.loads((landing / "_truth" / "summary.json").read_text())
    end = summary.get("end_date")
    for p in (landing / "web" / "events").glob("*.jsonl"):
        if end and p.name[:10] > end:
            p.unlink()


# ----------------------------------------------------------------------------- one scale
def bench_scale(name: str, people: int, root: Path, erasure: bool = True) -> dict:
    home = root / name
    home.mkdir(parents=True, exist_ok=True)
    print(f"\n== scale {name}: {people} people ({home})", flush=True)
    ensure_sources(home, people)
    landing = home / "landing"
    remove_increment(landing)
    rows = input_rows(landing)
    total_rows = sum(rows.values())
    env = {**os.environ, "CDW_HOME": str(home), "CDW_DBT_TARGET_PATH": f"target-bench-{name}", "PYTHONUNBUFFERED": "1"}
    results: dict = {"scale": name, "people": people, "input_rows": rows, "input_rows_total": total_rows}

    results["floor_s"] = round(floor_seconds(landing), 2)
    print(f"  floor (DuckDB reads + aggregates the raw files): {results['floor_s']}s", flush=True)

    # cold: empty warehouse and exports (run history kept: it is the operator's, not the data)
    for p in (home / "warehouse.duckdb", home / "warehouse.duckdb.wal", home / "warehouse.duckdb.builds.json",
              home / "analytics.duckdb"):
        p.unlink(missing_ok=True)
    for d in ("exports", "governance", "state"):  # the previous bench's erasures must not apply
        shutil.rmtree(home / d, ignore_errors=True)
    results["full"] = pipeline_run(home, env, "full", total_rows)
    print(f"  full pipeline: {results['full']['wall_s']}s, peak RSS {results['full']['peak_rss_mb']} MB, "
          f"ok={results['full']['ok']}", flush=True)

    results["increment"] = add_increment(landing)
    results["incremental"] = pipeline_run(home, env, "incr")
    print(f"  incremental run: {results['incremental']['wall_s']}s, ok={results['incremental']['ok']}", flush=True)

    # the same run again with nothing new: extract finds nothing, the warehouse build and all after it
    # skip (orchestration/defs/dbt/unchanged.py); what an idle scheduled run costs
    results["nothing_new"] = pipeline_run(home, env, "noop")
    print(f"  run with nothing new: {results['nothing_new']['wall_s']}s, ok={results['nothing_new']['ok']}", flush=True)
    remove_increment(landing)

    dbt = REPO / ".venv" / "bin" / "dbt"
    dbt_env = {**env, "CDW_WAREHOUSE": str(home / "warehouse.duckdb")}
    wall, peak, rc = run_measured(
        [str(dbt if dbt.exists() else "dbt"), "build", "--full-refresh", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project",
         "--target-path", f"target-bench-{name}-alone"],
        dbt_env, home / "bench_dbt.log")
    results["dbt_build_alone"] = {"wall_s": round(wall, 2), "peak_rss_mb": peak, "ok": rc == 0}
    print(f"  dbt build alone: {wall:.1f}s", flush=True)

    # erasure at this scale (changes the home: erases a few people; the next bench starts cold)
    if not erasure:
        results["erasure"] = {"skipped": True}
    else:
        _erasure(home, env, results)

    full = results["full"]
    results["ratios"] = {
        "pipeline_over_floor": _ratio(full["wall_s"], results["floor_s"]),
        "incremental_over_full": _ratio(results["incremental"]["wall_s"], full["wall_s"]),
        "nothing_new_over_full": _ratio(results["nothing_new"]["wall_s"], full["wall_s"]),
        "gate_over_pipeline": _ratio(full.get("stages_s", {}).get("gate", 0), full["wall_s"]),
        "dagster_overhead_s": round(full["wall_s"] - sum(full.get("stages_s", {}).values()), 2),
        "dbt_in_dagster_over_dbt_alone": _ratio(full.get("stages_s", {}).get("dbt", 0), results["dbt_build_alone"]["wall_s"]),
    }
    results["per_input_row"] = {
        "us_per_row": round(full["wall_s"] / max(total_rows, 1) * 1e6, 2),
        "rss_bytes_per_row": round(full["peak_rss_mb"] * 1024 * 1024 / max(total_rows, 1), 1),
    }
    return results


def pipeline_run(home: Path, env: dict, label: str, total_rows: int | None = None) -> dict:
    """One pipeline run through Dagster in a child process (benchmarks/run_once.py), measured."""
    stage_file = home / f"bench_stages_{label}.json"
    wall, peak, rc = run_measured([sys.executable, "-m", "benchmarks.run_once", str(stage_file)], env,
                                  home / f"bench_{label}.log")
    return {"wall_s": round(wall, 2), "peak_rss_mb": peak, "ok": rc == 0, **_stages(stage_file, total_rows)}


def _erasure(home: Path, env: dict, results: dict) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.erasure_scan", str(home)], env=env,
                          capture_output=True, text=True, cwd=REPO)
    results["erasure"] = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
    print(f"  erasure: {results['erasure']}", flush=True)


def _ratio(a, b):
    return round(a / b, 3) if b else None


def _stages(stage_file: Path, total_rows) -> dict:
    if not stage_file.exists():
        return {}
    data = json.loads(stage_file.read_text())
    out = {"stages_s": data.get("stages", {}), "dbt_layers_s": data.get("dbt_layers", {}),
           "dbt_slowest_s": data.get("dbt_slowest", {}), "identity_accuracy": data.get("identity_accuracy")}
    if total_rows:
        out["rows_per_s"] = {k: round(total_rows / v) for k, v in data.get("stages", {}).items() if v and k == "extract"}
    return out


# ----------------------------------------------------------------------------- report
def markdown(all_results: list[dict]) -> str:
    lines = ["| figure | " + " | ".join(r["scale"] for r in all_results) + " |",
             "|---|" + "---|" * len(all_results)]

    def row(label, fn):
        vals = []
        for r in all_results:
            try:
                v = fn(r)
            except (KeyError, TypeError):
                v = None
            vals.append("" if v is None else str(v))
        lines.append(f"| {label} | " + " | ".join(vals) + " |")

    row("people", lambda r: r["people"])
    row("input rows", lambda r: r["input_rows_total"])
    row("floor: DuckDB reads + aggregates (s)", lambda r: r["floor_s"])
    row("full pipeline, cold (s)", lambda r: r["full"]["wall_s"])
    for stage in ("extract", "dbt", "identity_steps", "identity_metrics", "gate", "exports", "publish"):
        row(f"  stage {stage} (s)", lambda r, s=stage: r["full"]["stages_s"].get(s))
    for layer in ("staging", "intermediate", "identity", "marts", "seeds", "tests"):
        row(f"  dbt {layer} (s)", lambda r, s=layer: r["full"]["dbt_layers_s"].get(s))
    row("peak RSS, process tree (MB)", lambda r: r["full"]["peak_rss_mb"])
    row("incremental run (s)", lambda r: r["incremental"]["wall_s"])
    for stage in ("extract", "dbt", "identity_steps", "gate", "publish"):
        row(f"  incremental: stage {stage} (s)", lambda r, s=stage: r["incremental"]["stages_s"].get(s))
    for layer in ("staging", "intermediate", "identity", "marts", "tests"):
        row(f"  incremental: dbt {layer} (s)", lambda r, s=layer: r["incremental"]["dbt_layers_s"].get(s))
    row("run with nothing new, build skipped (s)", lambda r: r["nothing_new"]["wall_s"])
    row("dbt build alone (s)", lambda r: r["dbt_build_alone"]["wall_s"])
    row("pipeline / floor", lambda r: r["ratios"]["pipeline_over_floor"])
    row("incremental / full", lambda r: r["ratios"]["incremental_over_full"])
    row("nothing new / full", lambda r: r["ratios"]["nothing_new_over_full"])
    row("gate / pipeline", lambda r: r["ratios"]["gate_over_pipeline"])
    row("Dagster overhead outside steps (s)", lambda r: r["ratios"]["dagster_overhead_s"])
    row("µs per input row (full)", lambda r: r["per_input_row"]["us_per_row"])
    row("RSS bytes per input row", lambda r: r["per_input_row"]["rss_bytes_per_row"])
    row("erasure: request, 3 people (s)", lambda r: r["erasure"]["erase_seconds"])
    row("erasure: purge of raw, no rebuild (s)", lambda r: r["erasure"]["purge_seconds"])
    row("erasure: scan of every table + export (s)", lambda r: r["erasure"]["scan_seconds"])
    row("erasure: rows scanned", lambda r: r["erasure"]["scan_rows_scanned"])
    row("erasure: the scan again, nothing changed (s)", lambda r: r["erasure"].get("rescan_seconds"))
    row("erasure: rows scanned again", lambda r: r["erasure"].get("rescan_rows_scanned"))
    row("identity precision", lambda r: (r["full"].get("identity_accuracy") or {}).get("precision"))
    row("identity recall", lambda r: (r["full"].get("identity_accuracy") or {}).get("recall"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="S,M", help="comma list of S, M, L (default S,M)")
    parser.add_argument("--no-erasure", action="store_true", help="skip the erasure figures (minutes at L)")
    parser.add_argument("--home", default=os.environ.get("CDW_BENCH_HOME", str(REPO / ".bench")))
    parser.add_argument("--no-febrl", action="store_true", help="skip the FEBRL identity section")
    args = parser.parse_args(argv)
    root = Path(args.home).resolve()
    scales = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    bad = [s for s in scales if s not in SCALES]
    if bad:
        parser.error(f"unknown scale(s) {bad}; choose from {list(SCALES)}")
    results = [bench_scale(s, SCALES[s], root, erasure=not args.no_erasure) for s in scales]
    table = markdown(results)
    febrl_rows = []
    if not args.no_febrl:
        from benchmarks import febrl

        febrl_rows = febrl.bench()
        table += "\n\n## Identity on FEBRL (without soc_sec_id)\n\n" + febrl.markdown(febrl_rows)
    print("\n" + table)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    meta = {"when": stamp, "cpu_count": os.cpu_count(), "python": sys.version.split()[0]}
    (out / f"{stamp}.json").write_text(json.dumps({"meta": meta, "results": results, "febrl": febrl_rows}, indent=2))
    (out / f"{stamp}.md").write_text(f"# Benchmark {stamp}\n\n{table}\n")
    print(f"\nwritten: {out / (stamp + '.json')} and .md")
    return 0 if all(r["full"]["ok"] and r["incremental"]["ok"] and r["nothing_new"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
