"""Child process of the benchmark: one pipeline run through Dagster, then its stage timings.

    python -m benchmarks.run_once <stages.json>
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

STAGE_OF_STEP = (
    ("raw__", "extract"),
    ("extract__", "extract"),
    ("warehouse_dbt_models", "dbt"),
    ("resolved_dbt_models", "dbt"),
    ("event_day_dbt_models", "dbt"),
    # Splink matching, components and account clusters: Dagster assets between the dbt steps
    ("intermediate__int_identity_", "identity_steps"),
    ("marts__identity_accuracy", "identity_metrics"),
    ("exports__", "exports"),
    ("governance__", "publish"),
)


def stage_of(step_key: str) -> str:
    if "_gx_" in step_key:
        return "gate"
    for prefix, stage in STAGE_OF_STEP:
        if step_key.startswith(prefix):
            return stage
    return "other"


def step_seconds(instance, run_id: str) -> dict[str, float]:
    from dagster import DagsterEventType

    starts, stages = {}, defaultdict(float)
    for entry in instance.all_logs(run_id):
        ev = entry.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type == DagsterEventType.STEP_START:
            starts[ev.step_key] = entry.timestamp
        elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and ev.step_key in starts:
            stages[stage_of(ev.step_key)] += entry.timestamp - starts[ev.step_key]
    return {k: round(v, 2) for k, v in stages.items()}


def dbt_results(target_dir: Path, run_id: str) -> list[dict]:
    """The node results of the run's dbt invocations (event-day models, before and after identity)."""
    return [res for path in target_dir.glob(f"*_dbt_models-{run_id[:8]}/run_results.json")
            for res in json.loads(path.read_text())["results"]]


def dbt_layer_seconds(results: list[dict]) -> dict[str, float]:
    """Execution time per dbt layer; `identity` is the part of `intermediate` that resolves
    identities (the int_identity_* SQL models; the identity assets are the stage `identity_steps`)."""
    layers = defaultdict(float)
    for r in results:
        uid = r["unique_id"]
        if uid.startswith(("test.", "unit_test.")):
            layer = "tests"
        elif uid.startswith("seed."):
            layer = "seeds"
        else:
            # "db"."schema"."table" on DuckDB, `schema`.`table` on Spark
            rel = (r.get("relation_name") or "").replace('"', "").replace("`", "").split(".")
            layer = rel[-2] if len(rel) >= 2 else "other"
        layers[layer] += r.get("execution_time") or 0
        if uid.split(".")[-1].startswith("int_identity_"):  # identity resolution, within intermediate
            layers["identity"] += r.get("execution_time") or 0
    return {k: round(v, 2) for k, v in layers.items()}


def dbt_slowest(results: list[dict], n: int = 15) -> dict[str, float]:
    """The `n` slowest dbt nodes (model, seed or test name -> seconds): what to look at first."""
    slowest = sorted(results, key=lambda r: -(r.get("execution_time") or 0))[:n]
    return {r["unique_id"].split(".", 2)[-1]: round(r.get("execution_time") or 0, 2) for r in slowest}


def identity_accuracy(warehouse: Path, run_id: str) -> dict | None:
    """People accuracy as the pipeline itself measured it in this run (marts.identity_accuracy)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "SELECT \"precision\", recall FROM marts.identity_accuracy WHERE run_id = ? AND entity = 'people'",
            [run_id],
        ).fetchone()
    if row is None or row[0] is None:
        return None
    return {"precision": round(row[0], 5), "recall": round(row[1], 5)}


def main() -> int:
    out = Path(sys.argv[1])
    from orchestration import settings
    from orchestration.runner import run_pipeline

    t0 = time.perf_counter()
    result = run_pipeline(log_level="INFO")
    wall = time.perf_counter() - t0
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        stages = step_seconds(instance, result.run_id)
    import os

    target = settings.DBT_PROJECT_DIR / os.environ.get("CDW_DBT_TARGET_PATH", "target")
    results = dbt_results(target, result.run_id)
    data = {
        "run_id": result.run_id,
        "success": result.success,
        "in_process_wall_s": round(wall, 2),
        "stages": stages,
        "dbt_layers": dbt_layer_seconds(results),
        "dbt_slowest": dbt_slowest(results),
        "identity_accuracy": identity_accuracy(settings.warehouse_path(), result.run_id) if result.success else None,
    }
    out.write_text(json.dumps(data, indent=2))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
