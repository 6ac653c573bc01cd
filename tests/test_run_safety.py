"""A CRM contacts export alone runs green (issue 18, partial deliveries), and on that small home
the failure paths of issue 20 an operator hits: a reader holding the warehouse makes runs and
dbt wait instead of fail, and runs take turns whoever starts them.

Every test here failed on the code before the fix: the CRM-only run failed (customer_rfm
segment_share 100%, email_audience row_count 0); a reader made the extract fail at once; dbt
failed its connection; `cdw run` went ahead while another run held the warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import use_home
from dbt_fixtures import contract_columns

REPO = Path(__file__).resolve().parent.parent
HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == "read")   # read: what `duckdb -readonly` does
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_read_lock(warehouse: Path, seconds: float, mode: str = "read") -> subprocess.Popen:
    """An analyst's read-only session on the warehouse (mode "write": a run), in another process."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(seconds), mode], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.fixture(scope="module")
def crm_only(tmp_path_factory):
    """A home holding one CRM contacts CSV and nothing else (no companies, deals, web, email), run once."""
    from orchestration.demo.generator import generate
    from orchestration.runner import run_pipeline

    demo = tmp_path_factory.mktemp("cdw_demo_sources")
    generate(demo / "landing", people=150, seed=8)
    home = tmp_path_factory.mktemp("cdw_crm_only")
    contacts = home / "landing/crm/contacts"
    contacts.mkdir(parents=True)
    shutil.copy(demo / "landing/crm/contacts/contacts.csv", contacts / "hubspot_export.csv")
    use_home(home)
    result = run_pipeline(log_level="WARNING")
    return home, result


def _sql(home: Path, query: str):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def test_a_crm_contacts_export_alone_runs_green_end_to_end(crm_only, capsys):
    home, result = crm_only
    assert result.success
    counts = dict(_sql(home, """SELECT 'customers', count(*) FROM marts.customers UNION ALL
                                SELECT 'ledger', count(*) FROM marts.consent_ledger UNION ALL
                                SELECT 'audience', count(*) FROM marts.email_audience UNION ALL
                                SELECT 'contacts', count(*) FROM raw.crm_contacts"""))
    assert counts["customers"] > 0 and counts["contacts"] >= counts["customers"]
    assert counts["ledger"] == 3 * counts["customers"]  # a row per customer and purpose
    assert counts["audience"] == 0  # nobody granted email-marketing consent: no source that grants it
    # the email export exists, empty, and its manifest says why
    manifest = json.loads((home / "exports/email_audience/email_audience.manifest.json").read_text())
    assert manifest["rows"] == 0
    assert manifest["empty_reason"].startswith("not delivered: email_members, web_events")
    assert manifest["gate_results"]["marts/email_audience:gx_email_audience"] == "skipped"

    # the gates of absent sources are skipped with that reason; nothing failed or warned
    gates = {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()
             if e.asset_check_key.name.startswith("gx_")}
    skipped = {k: e.metadata["skipped_reason"].value for k, e in gates.items()
               if e.metadata["status"].value == "skipped"}
    assert skipped["raw/web_events:gx_raw_web_events"] == "not delivered: web_events"
    assert skipped["raw/crm_deals:gx_raw_crm_deals"] == "not delivered: crm_deals"
    assert "marts/email_audience:gx_email_audience" in skipped
    assert all(e.passed for e in gates.values())
    judged = {k for k in gates if k not in skipped}
    assert {"raw/crm_contacts:gx_raw_crm_contacts", "marts/customers:gx_customers",
            "marts/customer_rfm:gx_customer_rfm", "staging/stg_crm__contacts:gx_stg_crm__contacts"} <= judged

    # the summary says which sources the warehouse had, and the missing ones once
    from orchestration.cli import main

    use_home(home)
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "Sources delivered: crm_contacts (1 file)" in out
    assert out.count("never delivered") == 1 and "web_events" in out.split("never delivered")[1].splitlines()[0]
    assert f"Last run: {result.run_id} (full_pipeline) SUCCESS" in out
    assert "SKIP  raw/web_events:gx_raw_web_events  (not delivered: web_events)" in out
    assert "PASS  marts/customers:gx_customers" in out


def test_the_crm_writeback_mart_keeps_its_columns_when_only_crm_contacts_arrived(crm_only):
    """No web, email, deals or companies: the write-back's mart has the same columns as with every
    source (its yml contract; tests/test_exports.py checks the full demo against it), and the
    values no source could give are NULL or empty, not missing columns."""
    home, _ = crm_only
    built, promised = contract_columns(home / "warehouse.duckdb", "crm_contact_writeback", "marts/audiences")
    assert built == promised
    rows = _sql(home, "SELECT has_profiling_consent, lead_score, lifecycle_stage, segments, count(*) "
                      "FROM marts.crm_contact_writeback GROUP BY ALL")
    (contacts,) = _sql(home, "SELECT count(DISTINCT hs_object_id) FROM raw.crm_contacts")[0]
    # nothing grants analytics (profiling) consent without web events: every contact is withheld
    assert sum(n for *_, n in rows) == contacts and rows == [(False, None, None, None, contacts)]


def test_connect_waits_for_a_reader_then_names_the_process_when_it_does_not_let_go(tmp_path):
    from orchestration.warehouse import WarehouseBusy, connect

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t AS SELECT 1 AS x").close()
    reader = hold_read_lock(path, 2)
    t0 = time.monotonic()
    with connect(path, timeout=60) as con:  # waits for the reader, then writes
        con.execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - t0 >= 1.0
    reader.wait()

    reader = hold_read_lock(path, 30)
    try:
        with pytest.raises(WarehouseBusy, match=rf"locked by python\S* \(PID {reader.pid}\); waited [01]s"):
            connect(path, timeout=0.5)
    finally:
        reader.kill()
        reader.wait()


def test_cdw_sql_on_the_busy_warehouse_says_who_holds_it_and_points_to_the_snapshot(tmp_path, capsys):
    from orchestration.cli import main

    use_home(tmp_path)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    writer = hold_read_lock(tmp_path / "warehouse.duckdb", 30, mode="write")
    try:
        t0 = time.monotonic()
        assert main(["sql", "--warehouse", "SELECT 1"]) == 2
        assert time.monotonic() - t0 < 5  # an analyst is told at once, not made to wait
    finally:
        writer.kill()
        writer.wait()
    err = capsys.readouterr().err
    assert f"(PID {writer.pid})" in err and "query the analyst snapshot instead" in err


def test_dbt_waits_for_a_reader(crm_only):
    home, _ = crm_only
    use_home(home)  # CDW_WAREHOUSE and dbt-duckdb's connect_attempts, as a run exports them
    reader = hold_read_lock(home / "warehouse.duckdb", 6)
    try:
        out = subprocess.run([str(Path(sys.executable).parent / "dbt"), "debug", "--profiles-dir", "."],
                             cwd=REPO / "dbt_project", capture_output=True, text=True, timeout=300).stdout
    finally:
        reader.wait()
    assert "Connection test: [\x1b[32mOK connection ok" in out or "Connection test: [OK connection ok" in out, out[-2000:]


def start_cdw_run(home: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as fh:
        return subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--log-level", "WARNING"],
                                cwd=REPO, env={**os.environ, "CDW_HOME": str(home)}, stdout=fh, stderr=fh)


def wait_for_text(log: Path, text: str, proc: subprocess.Popen, seconds: float = 300) -> None:
    """Until the run's console shows `text`; the run must not have ended before."""
    deadline = time.monotonic() + seconds
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)


def test_a_run_waits_for_a_reader_and_succeeds(crm_only, tmp_path):
    """The README's `duckdb -readonly` used while a run goes: the run waits, saying who holds the
    warehouse, and succeeds once the reader lets go."""
    home, _ = crm_only
    log = tmp_path / "cdw_run.log"
    reader = hold_read_lock(home / "warehouse.duckdb", 600)
    try:
        proc = start_cdw_run(home, log)
        wait_for_text(log, f"(PID {reader.pid}): waiting up to", proc)
        time.sleep(3)
        assert proc.poll() is None  # still waiting, not failed
    finally:
        reader.kill()
        reader.wait()
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]


def test_cdw_run_waits_for_the_run_that_holds_the_warehouse(crm_only, tmp_path):
    """A run the daemon launched (schedule, sensor) holds the run lock: `cdw run` waits for it
    instead of colliding with it, then runs."""
    from orchestration.warehouse import run_lock

    home, _ = crm_only
    use_home(home)
    log = tmp_path / "cdw_run.log"
    loads_before = _sql(home, "SELECT count(*) FROM raw._load_log")
    with run_lock("daemon-run-1", "full_pipeline"):
        proc = start_cdw_run(home, log)
        wait_for_text(log, "waiting for run daemon-run-1", proc)
        time.sleep(2)
        assert proc.poll() is None  # still waiting: nothing of it ran
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    assert _sql(home, "SELECT count(*) FROM raw._load_log") == loads_before  # nothing new to load


def test_a_killed_run_is_marked_failed_by_the_next_run(crm_only, tmp_path):
    """SIGKILL leaves no process to report a run's end; the next run (holding the run lock, so no
    other run can be executing) finds its process gone and marks it failed instead of STARTED."""
    from orchestration.runner import run_pipeline
    from orchestration.warehouse import PID_TAG

    home, _ = crm_only
    use_home(home)
    proc = start_cdw_run(home, tmp_path / "killed.log")
    deadline = time.monotonic() + 300
    killed = None
    with dg.DagsterInstance.get() as instance:
        while killed is None:
            assert proc.poll() is None and time.monotonic() < deadline
            started = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            killed = next((r for r in started if r.tags.get(PID_TAG) == str(proc.pid)), None)
            time.sleep(0.3)
        proc.kill()
        proc.wait()
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED  # stuck, as before

        assert run_pipeline(log_level="WARNING").success
        after = instance.get_run_by_id(killed.run_id)
        assert after.status == dg.DagsterRunStatus.FAILURE
        failure = instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1]
        assert f"(PID {proc.pid}) is gone" in failure.dagster_event.message


def test_every_run_takes_the_run_lock():
    """Every step that writes the warehouse needs the resource holding the run lock, so a run of
    any selection - `cdw run`, a schedule, a sensor, the UI - takes it at its start."""
    from orchestration.definitions import defs
    from orchestration.defs.dbt.assets import event_day_dbt_models, warehouse_dbt_models
    from orchestration.defs.exports.assets import export_assets
    from orchestration.defs.extract.assets import extract_assets
    from orchestration.defs.quality.checks import gx_checks

    for definition in [*extract_assets, event_day_dbt_models, warehouse_dbt_models, *export_assets, *gx_checks]:
        assert "warehouse" in definition.required_resource_keys, definition.node_def.name
    for job in ("full_pipeline", "event_days"):
        assert "warehouse" in defs.resolve_job_def(job).required_resource_keys
    assert isinstance(defs.resources["warehouse"], dg.ConfigurableResource)
