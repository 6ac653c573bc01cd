"""Faults: a pipeline killed at random points recovers to the same warehouse as an uninterrupted
run, exports are never seen half-written, and a flaky source is retried with backoff.

(Concurrent readers during a run - `cdw sql` with zero lock errors - are tested with the
analyst snapshot, tests/test_snapshot*.py.)
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import use_home

PEOPLE, SEED = 120, 23
KILLS = int(os.environ.get("CDW_FAULT_KILLS", "2"))  # more kills: more coverage, ~1.5 min each
KILL_SEED = 2026  # the kill points are random but reproducible; printed on failure
# when a row was loaded or measured, not what it holds: differs between any two runs
# (_source_rows_hash: incremental staging's hash of a record's raw rows, load times included)
VOLATILE_COLUMNS = {"_load_id", "_loaded_at", "run_id", "measured_at", "_source_rows_hash"}
VOLATILE_BY_TABLE = {"marts.segment_memberships": {"since"}}  # the run that first saw the membership
CDW = [sys.executable, "-m", "orchestration.cli"]


def fingerprint(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent content hash per table (load times left out)."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema IN ('raw', 'quarantine', 'staging', 'intermediate', 'marts') "
            "AND NOT (table_schema = 'raw' AND table_name IN ('_load_log', '_erasure_enforced', '_event_days_staged')) "
            "ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [schema, table]).fetchall()
                if c not in VOLATILE_COLUMNS | VOLATILE_BY_TABLE.get(f"{schema}.{table}", set())]
            args = ", ".join(f'"{c}"' for c in cols)
            out[f"{schema}.{table}"] = con.execute(
                f'SELECT count(*), coalesce(sum(hash({args})::HUGEINT), 0) FROM "{schema}"."{table}"'
            ).fetchone()
    return out


def start_run(home: Path) -> subprocess.Popen:
    env = {**os.environ, "CDW_HOME": str(home)}
    return subprocess.Popen([*CDW, "run", "--log-level", "WARNING"], env=env, cwd=Path(__file__).parent.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def run_to_end(home: Path) -> float:
    t0 = time.perf_counter()
    proc = start_run(home)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err.decode()[-3000:]
    return time.perf_counter() - t0


def assert_exports_complete(home: Path) -> None:
    """Whatever is visible in exports/ is whole: no visible temp file, every CSV ends on a
    complete row, and every manifest names a file whose bytes it describes (or an older
    complete one: the CSV is replaced before its manifest)."""
    folder = home / "exports"
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            assert not path.name.endswith(".tmp"), path
    for manifest_path in folder.rglob("*.manifest.json"):
        manifest = json.loads(manifest_path.read_text())  # parses: never half-written
        data = (manifest_path.parent / manifest["file"]).read_bytes()
        assert data.endswith(b"\n")
        rows = list(csv.reader(data.decode().splitlines()))
        assert rows[0] == manifest["columns"]


def test_sigkill_at_random_points_then_rerun_equals_an_uninterrupted_run(tmp_path):
    from orchestration.demo.generator import generate

    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    for home in (reference, crashed):
        use_home(home)
        generate(home / "landing", people=PEOPLE, seed=SEED)
    full = run_to_end(reference)

    rng = random.Random(KILL_SEED)
    kill_points = []
    for _ in range(KILLS):
        proc = start_run(crashed)
        delay = rng.uniform(1.0, full)
        kill_points.append(round(delay, 1))
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the pipeline and its dbt child die at once
            proc.wait()
        assert_exports_complete(crashed)
    run_to_end(crashed)
    assert_exports_complete(crashed)

    expected, got = fingerprint(reference / "warehouse.duckdb"), fingerprint(crashed / "warehouse.duckdb")
    differing = sorted(t for t in expected.keys() | got.keys() if expected.get(t) != got.get(t))
    assert not differing, f"tables differ after kills at {kill_points}s: {differing}"
    for name in ("email_audience.csv",):
        a = (reference / "exports" / "email_audience" / name).read_bytes()
        b = (crashed / "exports" / "email_audience" / name).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()


def test_flaky_source_is_retried_with_backoff(tmp_path, monkeypatch):
    """The warehouse is held by another writer for longer than a connection waits for it
    (CDW_LOCK_TIMEOUT_SECONDS) in the first two attempts: the extract asset's RetryPolicy waits
    (exponential backoff) and the third attempt loads the file."""
    import dagster as dg

    from orchestration.defs.extract.assets import EXTRACT_RETRY, extract_assets
    from orchestration.warehouse import WarehouseResource

    monkeypatch.setenv("CDW_LOCK_TIMEOUT_SECONDS", "0.5")

    home = tmp_path / "cdw"
    use_home(home)
    (home / "landing" / "crm" / "contacts").mkdir(parents=True)
    (home / "landing" / "crm" / "contacts" / "c.csv").write_text(
        "hs_object_id,createdate,lastmodifieddate\n1,2024-01-01,2024-01-02\n2,2024-01-01,2024-01-02\n")
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
         "sys.stdin.readline(); c.close()", str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"

    instance = dg.DagsterInstance.ephemeral()
    retries: list = []

    def release_after_two_failures():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = instance.get_runs(limit=1)
            if runs:
                retries[:] = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
                if len(retries) >= 2:
                    break
            time.sleep(0.1)
        holder.stdin.write("\n")
        holder.stdin.flush()

    watcher = threading.Thread(target=release_after_two_failures)
    watcher.start()
    try:
        (asset,) = [a for a in extract_assets if a.key == dg.AssetKey(["raw", "crm_contacts"])]
        result = dg.materialize([asset], instance=instance, raise_on_error=False,
                                resources={"warehouse": WarehouseResource()})
    finally:
        watcher.join()
        holder.wait(timeout=30)
    assert result.success
    assert len(retries) == 2
    failures = [e for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
    assert failures == []  # the failed attempts were retried, not final
    errors = [r.dagster_event.event_specific_data.error for r in retries]
    causes = [(e.cause or e).message for e in errors]
    assert all("lock" in c.lower() for c in causes), causes
    restarts = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_RESTARTED)
    assert len(restarts) == 2  # two failed attempts, each restarted under the asset's retry policy
    # the waits between attempts are Dagster's to keep (its RetryPolicy); what is ours is the policy
    assert EXTRACT_RETRY.backoff == dg.Backoff.EXPONENTIAL and EXTRACT_RETRY.delay > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == 2


@pytest.fixture(autouse=True)
def _restore_home():
    before = os.environ.get("CDW_HOME")
    yield
    if before:
        use_home(Path(before))
