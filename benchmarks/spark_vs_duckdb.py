"""`make bench ENGINE=spark SCALES=S`: the dbt project on Spark (local, dbt-spark session method)
beside DuckDB, on the same inputs.

For each scale, in one sitting:
  1. the DuckDB pipeline, cold, through Dagster (benchmarks/run_once.py): raw tables and identity
  2. DuckDB: `dbt build --full-refresh` of every node but identity (the Spark build's selection:
     Spark rebuilds its incremental models in full), timed per layer from dbt's run_results.json
  3. Spark, in a child process: session start-up (JVM, Hive catalog, UDF), the copy of raw tables,
     identity's output and the id registry into Spark Parquet tables (the stop-gap of
     orchestration/spark_engine.py), then the same `dbt build`, timed per layer
  4. ratios Spark / DuckDB, and microseconds per input row per engine (the paper estimate of
     benchmarks/README.md, "Spark beside DuckDB", starts from these)

Results: stdout, benchmarks/results/<timestamp>-spark.{json,md} (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench import REPO, SCALES, ensure_sources, input_rows, pipeline_run, run_measured
from benchmarks.run_once import dbt_layer_seconds
from orchestration.spark_engine import IDENTITY_SELECTOR

# --full-refresh: Spark rebuilds the incremental models in full (Parquet), so DuckDB must too to compare
BUILD_ARGS = ["build", "--full-refresh", "--exclude-resource-type", "unit_test", "--exclude", IDENTITY_SELECTOR]


def layer_seconds(run_results: Path) -> dict[str, float]:
    """Execution time per layer (seeds, staging, intermediate, marts, tests) of a dbt invocation."""
    return dict(sorted(dbt_layer_seconds(json.loads(run_results.read_text())["results"]).items()))


def duckdb_build(home: Path, label: str) -> dict:
    dbt = REPO / ".venv" / "bin" / "dbt"
    target = home / f"target-bench-{label}"
    env = {**os.environ, "CDW_HOME": str(home), "CDW_WAREHOUSE": str(home / "warehouse.duckdb"), "CDW_ENGINE": "duckdb"}
    wall, peak, rc = run_measured([str(dbt if dbt.exists() else "dbt"), *BUILD_ARGS, "--project-dir", "dbt_project",
                                   "--profiles-dir", "dbt_project", "--target-path", str(target)], env, home / f"bench_{label}.log")
    return {"wall_s": round(wall, 2), "peak_rss_mb": peak, "ok": rc == 0,
            "layers_s": layer_seconds(target / "run_results.json") if (target / "run_results.json").exists() else {}}


def spark_child(home: Path, out: Path) -> int:
    """In the child process: time the session, the copy and the build (one JVM, like a real run)."""
    sys.path.insert(0, str(REPO))
    from orchestration import spark_engine

    shutil.rmtree(spark_engine.spark_dir(home), ignore_errors=True)  # cold: empty catalog and warehouse
    t0 = time.perf_counter()
    spark = spark_engine.session(home)
    spark.sql("select 1").collect()
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    warehouse = home / "warehouse.duckdb"
    copied = spark_engine.copy_from_duckdb(spark, warehouse, spark_engine.tables_to_copy(warehouse), home)
    copy_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    result = spark_engine.dbt(BUILD_ARGS, home)
    build_s = time.perf_counter() - t2
    run_results = spark_engine.spark_dir(home) / "dbt_target" / "run_results.json"
    out.write_text(json.dumps({
        "startup_s": round(startup, 2), "copy_s": round(copy_s, 2), "copied_rows": sum(copied.values()),
        "build_s": round(build_s, 2), "ok": bool(result.success),
        "layers_s": layer_seconds(run_results) if run_results.exists() else {},
    }))
    spark.stop()
    return 0 if result.success else 1


def bench_scale(name: str, people: int, root: Path) -> dict:
    home = root / f"{name}-spark"
    home.mkdir(parents=True, exist_ok=True)
    print(f"\n== scale {name}: {people} people, DuckDB and Spark ({home})", flush=True)
    ensure_sources(home, people)
    rows = input_rows(home / "landing")
    for p in (home / "warehouse.duckdb", home / "warehouse.duckdb.wal", home / "warehouse.duckdb.builds.json"):
        p.unlink(missing_ok=True)
    for d in ("exports", "governance", "state"):
        shutil.rmtree(home / d, ignore_errors=True)
    env = {**os.environ, "CDW_HOME": str(home), "CDW_DBT_TARGET_PATH": f"target-bench-{name}", "PYTHONUNBUFFERED": "1"}
    results: dict = {"scale": name, "people": people, "input_rows_total": sum(rows.values())}
    results["pipeline_duckdb"] = pipeline_run(home, env, "full")
    print(f"  DuckDB pipeline (raw + identity for both): {results['pipeline_duckdb']['wall_s']}s", flush=True)
    results["duckdb"] = duckdb_build(home, "duckdb-build")
    print(f"  DuckDB dbt build (identity left out): {results['duckdb']['wall_s']}s {results['duckdb']['layers_s']}", flush=True)
    out = home / "bench_spark.json"
    out.unlink(missing_ok=True)
    wall, peak, rc = run_measured([sys.executable, "-m", "benchmarks.spark_vs_duckdb", "--child", str(home), str(out)],
                                  {**env, "CDW_ENGINE": "spark"}, home / "bench_spark.log")
    spark = json.loads(out.read_text()) if out.exists() else {"ok": False}
    results["spark"] = {"wall_s": round(wall, 2), "peak_rss_mb": peak, **spark, "ok": rc == 0 and spark.get("ok", False)}
    print(f"  Spark: {wall:.1f}s (start-up {spark.get('startup_s')}s, copy {spark.get('copy_s')}s, "
          f"dbt build {spark.get('build_s')}s) {spark.get('layers_s')}", flush=True)
    total = max(results["input_rows_total"], 1)
    results["ratios"] = {
        "spark_build_over_duckdb_build": round(spark.get("build_s", 0) / results["duckdb"]["wall_s"], 2) if results["duckdb"]["wall_s"] else None,
        "us_per_row_duckdb": round(results["duckdb"]["wall_s"] / total * 1e6, 1),
        "us_per_row_spark_build": round(spark.get("build_s", 0) / total * 1e6, 1),
    }
    return results


def markdown(results: list[dict]) -> str:
    lines = ["| figure | " + " | ".join(r["scale"] for r in results) + " |", "|---|" + "---|" * len(results)]
    for label, fn in [
        ("input rows", lambda r: r["input_rows_total"]),
        ("DuckDB dbt build (s)", lambda r: r["duckdb"]["wall_s"]),
        ("DuckDB layers (s)", lambda r: r["duckdb"]["layers_s"]),
        ("Spark start-up (s)", lambda r: r["spark"].get("startup_s")),
        ("Spark copy from DuckDB (s)", lambda r: r["spark"].get("copy_s")),
        ("Spark dbt build (s)", lambda r: r["spark"].get("build_s")),
        ("Spark layers (s)", lambda r: r["spark"].get("layers_s")),
        ("Spark peak RSS (MB)", lambda r: r["spark"].get("peak_rss_mb")),
        ("Spark build / DuckDB build", lambda r: r["ratios"]["spark_build_over_duckdb_build"]),
        ("us per input row, DuckDB / Spark", lambda r: f"{r['ratios']['us_per_row_duckdb']} / {r['ratios']['us_per_row_spark_build']}"),
    ]:
        lines.append(f"| {label} | " + " | ".join(str(fn(r)) for r in results) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="S", help="comma list of S, M, L (default S)")
    parser.add_argument("--home", default=os.environ.get("CDW_BENCH_HOME", str(REPO / ".bench")))
    parser.add_argument("--child", nargs=2, metavar=("HOME", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return spark_child(Path(args.child[0]), Path(args.child[1]))
    scales = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    if any(s not in SCALES for s in scales):
        parser.error(f"unknown scale(s) in {scales}; choose from {list(SCALES)}")
    results = [bench_scale(s, SCALES[s], Path(args.home).resolve()) for s in scales]
    table = markdown(results)
    print("\n" + table)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"{stamp}-spark.json").write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))
    (out / f"{stamp}-spark.md").write_text(f"# Spark beside DuckDB {stamp}\n\n{table}\n")
    return 0 if all(r["duckdb"]["ok"] and r["spark"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
