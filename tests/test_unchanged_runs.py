"""A run with nothing new does not rebuild the warehouse; anything the build reads that changes
makes the next run rebuild (orchestration/defs/dbt/unchanged.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from conftest import use_home


def _tables(warehouse) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                            "WHERE table_schema IN ('staging', 'intermediate', 'marts') AND table_type = 'BASE TABLE'").fetchall()
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for (n,) in names}


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _messages(result, text: str) -> list[str]:
    """The run's log messages containing `text` (Dagster's event log: what the UI shows)."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        return [e.user_message for e in instance.all_logs(result.run_id) if text in (e.user_message or "")]


def _logged(result, text: str) -> str:
    found = _messages(result, text)
    assert found, f"no log message with {text!r}"
    return found[0]


@pytest.fixture
def home(demo, tmp_path):
    """The demo's home with its Dagster instance: its last run rebuilt everything and succeeded."""
    dest = tmp_path / "cdw"
    shutil.copytree(demo.home, dest)
    use_home(dest)
    return dest


def test_a_run_with_nothing_new_skips_the_build_and_a_change_rebuilds(home, demo):
    from orchestration.runner import run_pipeline

    warehouse, snapshot = home / "warehouse.duckdb", home / "analytics.duckdb"
    state = warehouse.with_name("warehouse.duckdb.builds.json")
    recorded, snapshot_written, tables = state.read_text(), snapshot.stat().st_mtime_ns, _tables(warehouse)
    assert demo.second.run_id in recorded

    idle = run_pipeline(log_level="WARNING")
    assert idle.success
    done = _materialized(idle)
    # extract and the event-day step ran (they find out that nothing is new) ...
    assert {"raw/crm_contacts", "raw/web_events", "staging/stg_web__events"} <= done
    # ... the warehouse build did not, nor anything after it
    assert not {k for k in done if k.split("/")[0] in ("intermediate", "marts", "governance", "exports")} - {
        "governance/crm_erasure"}
    assert "staging/stg_crm__contacts" not in done
    skipped = {e.step_key for e in idle.all_events if e.is_step_skipped}
    assert any(s.startswith("governance__analyst_snapshot") for s in skipped)
    assert any("gx_" in s for s in skipped)  # the gate of the marts: nothing new to judge
    assert demo.second.run_id in _logged(idle, "dbt build skipped")
    assert state.read_text() == recorded and snapshot.stat().st_mtime_ns == snapshot_written
    assert _tables(warehouse) == tables

    # one CRM contact changes (a new delivery): the next run rebuilds, and the change reaches the marts
    contacts = home / "landing" / "crm" / "contacts"
    modified = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT * REPLACE ('Chief Benchmark Officer' AS jobtitle, '{modified}' AS lastmodifieddate)
                              FROM read_csv('{contacts / "contacts.csv"}', header=true, all_varchar=true)
                              WHERE email LIKE '%@%' AND try_cast(hs_object_id AS BIGINT) IS NOT NULL
                              ORDER BY hs_object_id LIMIT 1)
                        TO '{contacts / "contacts_delta.csv"}' (HEADER)""")
    changed = run_pipeline(log_level="WARNING")
    assert changed.success
    assert {"marts/customers", "governance/analyst_snapshot"} <= _materialized(changed)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.customers WHERE job_title = 'Chief Benchmark Officer'").fetchone()[0] == 1
    assert changed.run_id in state.read_text()
    why = _logged(changed, "Building: ")
    assert f"changed since run {idle.run_id}" not in why and f"changed since run {demo.second.run_id}" in why
    assert "raw.crm_contacts" in why and "code" not in why  # what changed, nothing else
    # same code and settings: incremental staging re-staged the changed contact only; the demo's
    # second run (--rebuild) staged everything again
    assert not _messages(changed, "--full-refresh")
    assert "cdw/rebuild=always" in _logged(demo.second, "--full-refresh")


def test_the_fingerprint_follows_data_settings_and_selection_not_paths(demo, tmp_path, monkeypatch):
    from orchestration.defs.dbt.assets import TRANSLATOR, dbt_manifest, resolved_dbt_models, warehouse_dbt_models
    from orchestration.defs.dbt.unchanged import BuildFingerprint

    dest = tmp_path / "cdw"
    shutil.copytree(demo.home, dest, ignore=shutil.ignore_patterns("dagster", "exports", "analytics.duckdb"))
    use_home(dest)
    keys = warehouse_dbt_models.keys

    def digest(selection=keys):
        return BuildFingerprint(dbt_manifest(), TRANSLATOR, selection).digest()

    base = digest()
    fp = BuildFingerprint(dbt_manifest(), TRANSLATOR, keys)
    assert '"raw"."crm_contacts"' in " ".join(fp.inputs) and '"staging"."stg_web__events"' in " ".join(fp.inputs)
    assert not any("marts" in r for r in fp.inputs)  # what the build makes is not its input

    # another home with the same content: the same build
    assert BuildFingerprint(dbt_manifest(), TRANSLATOR, keys).digest() == base
    # a phone nulled in place (what an erasure does to a shared number): same row count, other input
    with duckdb.connect(str(dest / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.crm_contacts SET phone = NULL WHERE rowid = (SELECT min(rowid) FROM raw.crm_contacts WHERE phone IS NOT NULL)")
    nulled = digest()
    assert nulled != base
    # a setting that may change what is built or exported
    monkeypatch.setenv("CDW_SNAPSHOT_PII", "full")
    assert digest() != nulled
    monkeypatch.delenv("CDW_SNAPSHOT_PII")
    assert digest() == nulled
    # a memory cap does not
    monkeypatch.setenv("CDW_DUCKDB_MEMORY_LIMIT", "3GB")
    assert digest() == nulled
    # a mart dropped by hand is rebuilt (by the dbt step after identity's assets, which builds the
    # marts); another selection is another build
    marts_keys = resolved_dbt_models.keys
    marts_before = digest(marts_keys)
    with duckdb.connect(str(dest / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE marts.customer_rfm")
    assert digest(marts_keys) != marts_before
    assert digest([k for k in marts_keys if k.path[0] == "marts"]) != digest(marts_keys)

    # incremental staging is rebuilt from scratch when code or settings changed since the last build
    from orchestration.defs.dbt import unchanged
    from orchestration.defs.dbt.unchanged import full_refresh_reason, record_build

    fp = BuildFingerprint(dbt_manifest(), TRANSLATOR, keys)
    record_build(fp, "run-a")
    assert full_refresh_reason(fp) is None
    # the snapshot's masking is no input of dbt: the run publishes again, incremental models stay
    monkeypatch.setenv("CDW_SNAPSHOT_PII", "full")
    changed_setting = BuildFingerprint(dbt_manifest(), TRANSLATOR, keys)
    assert changed_setting.digest() != fp.digest() and full_refresh_reason(changed_setting) is None
    monkeypatch.delenv("CDW_SNAPSHOT_PII")
    # credentials, and settings no build step reads, change nothing
    monkeypatch.setenv("CDW_CRM_API_TOKEN", "rotated")
    monkeypatch.setenv("CDW_NOT_A_SETTING", "x")
    assert BuildFingerprint(dbt_manifest(), TRANSLATOR, keys).digest() == fp.digest()
    # a change of the code dbt runs rebuilds them from scratch
    extra = tmp_path / "dbt_code.sql"
    extra.write_text("select 1")
    files = unchanged.dbt_code_files()
    monkeypatch.setattr(unchanged, "dbt_code_files", lambda: files + [extra])
    record_build(BuildFingerprint(dbt_manifest(), TRANSLATOR, keys), "run-b")
    extra.write_text("select 2")
    assert full_refresh_reason(BuildFingerprint(dbt_manifest(), TRANSLATOR, keys)) == "dbt code changed since run run-b"


def test_code_dbt_runs_is_found_by_its_imports_and_compared_without_docstrings(tmp_path):
    from orchestration.defs.dbt import unchanged

    dbt_files = set(unchanged.dbt_code_files())
    after = set(unchanged.after_build_code_files())
    models = sorted((unchanged.DBT_DIR / "models").rglob("*.py"))
    for model in models:  # each Python model and every repository module it imports
        assert model in dbt_files
        for module in unchanged._imported_modules(model):
            f = unchanged._module_file(module)
            assert f is None or f in dbt_files, (model.name, module)
    assert unchanged.DBT_DIR / "dbt_project.yml" in dbt_files
    # the command line is no step of a run: editing it rebuilds nothing
    cli = unchanged.REPO / "orchestration" / "cli.py"
    assert cli not in dbt_files and cli not in after
    assert unchanged.REPO / "data_quality" / "runner.py" in after  # the gate is

    module = tmp_path / "m.py"
    module.write_text('"""Doc."""\n\ndef f(x):\n    """What f does."""\n    return x + 1  # one\n')
    before = unchanged.code_digest([module])
    module.write_text('"""Another doc."""\n\n\ndef f(x):\n    """Says it better."""\n    return x + 1  # comment\n')
    assert unchanged.code_digest([module]) == before
    module.write_text('"""Doc."""\n\ndef f(x):\n    return x + 2\n')
    assert unchanged.code_digest([module]) != before
