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
    ("warehouse_dbt_models", "dbt"),
    ("identity__", "identity_metrics"),
    ("exports__", "exports"),
    ("publish", "publish"),
    ("analytics", "publish"),
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


def dbt_layer_seconds(target_dir: Path) -> dict[str, float]:
    runs = sorted(target_dir.glob("warehouse_dbt_models-*/run_results.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        return {}
    layers = defaultdict(float)
    for r in json.loads(runs[-1].read_text())["results"]:
        uid = r["unique_id"]
        if uid.startswith(("test.", "unit_test.")):
            layer = "tests"
        elif uid.startswith("seed."):
            layer = "seeds"
        else:
            rel = (r.get("relation_name") or "").replace('"', "").split(".")
            layer = rel[1] if len(rel) >= 3 else "other"
        layers[layer] += r.get("execution_time") or 0
    return {k: round(v, 2) for k, v in layers.items()}


def pairwise_accuracy(warehouse: Path, truth_csv: Path) -> dict | None:
    """Pairwise precision/recall over records present in both the truth and the mapping, computed
    with pair counts per group (n choose 2), so it scales to millions of records."""
    import duckdb

    if not truth_csv.exists():
        return None
    con = duckdb.connect(str(warehouse), read_only=True)
    q = f"""
        WITH j AS (
            SELECT m.customer_id, t.person_id
            FROM marts.customer_source_records m
            JOIN read_csv('{truth_csv}', header=true, all_varchar=true) t
              ON t.source = m.source AND t.source_record_id = m.source_record_id
        ),
        pred AS (SELECT sum(n * (n - 1) / 2) p FROM (SELECT count(*) n FROM j GROUP BY customer_id)),
        tru  AS (SELECT sum(n * (n - 1) / 2) t FROM (SELECT count(*) n FROM j GROUP BY person_id)),
        both_ AS (SELECT sum(n * (n - 1) / 2) b FROM (SELECT count(*) n FROM j GROUP BY customer_id, person_id))
        SELECT p, t, b FROM pred, tru, both_
    """
    p, t, b = con.execute(q).fetchone()
    con.close()
    return {"precision": round(b / p, 5) if p else None, "recall": round(b / t, 5) if t else None}


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
    data = {
        "run_id": result.run_id,
        "success": result.success,
        "in_process_wall_s": round(wall, 2),
        "stages": stages,
        "dbt_layers": dbt_layer_seconds(target),
        "identity_accuracy": pairwise_accuracy(settings.warehouse_path(), settings.truth_dir() / "people.csv") if result.success else None,
    }
    out.write_text(json.dumps(data, indent=2))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
