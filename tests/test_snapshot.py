"""The analyst snapshot: atomic swap (open readers keep their copy), PII tags read from dbt, and
`cdw sql` falling back to the warehouse before the first snapshot."""

from __future__ import annotations

import duckdb
from conftest import use_home


def _warehouse(path, emails):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA raw")
        con.execute("CREATE TABLE marts.customers (customer_id VARCHAR, email VARCHAR, country VARCHAR)")
        con.executemany("INSERT INTO marts.customers VALUES (?, ?, 'US')", [[f"cus_{i:016x}", e] for i, e in enumerate(emails)])
        con.execute("CREATE TABLE raw.secret (x VARCHAR)")


def test_publish_swaps_atomically_and_readers_keep_their_copy(tmp_path, monkeypatch):
    from orchestration.governance import snapshot

    monkeypatch.setenv("CDW_HOME", str(tmp_path))
    wh, target = tmp_path / "wh.duckdb", tmp_path / "analytics.duckdb"
    _warehouse(wh, ["a@example.com", "b@example.com"])
    first = snapshot.publish(warehouse=wh, target=target)
    assert first["tables"] == {"marts.customers": 2}           # only the analyst-facing schema
    assert "marts.customers.email" in first["masked_columns"]
    reader = duckdb.connect(str(target), read_only=True)
    try:
        wh.unlink()
        _warehouse(wh, ["a@example.com", "b@example.com", "c@example.com"])
        snapshot.publish(warehouse=wh, target=target)
        # the open reader still sees the snapshot it opened, whole
        assert reader.execute("SELECT count(*) FROM marts.customers").fetchone()[0] == 2
    finally:
        reader.close()
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.customers").fetchone()[0] == 3
        masked = [e for (e,) in con.execute("SELECT email FROM marts.customers ORDER BY customer_id").fetchall()]
        assert all(e.startswith("pii_") and len(e) == 20 for e in masked) and len(set(masked)) == 3
        # the masking secret is not stored in the published file
        assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'cdw_mask'").fetchone()[0] == 0
    assert not list(tmp_path.glob(".analytics.duckdb.*"))  # no temp file left


def test_pii_tags_come_from_the_dbt_yaml():
    from orchestration.defs.dbt.project import dbt_project
    from orchestration.governance.snapshot import pii_columns_from_manifest

    tags = pii_columns_from_manifest(dbt_project().manifest_path)
    assert {"email", "first_name", "last_name"} <= tags[("marts", "email_audience")]
    assert {"email", "phone"} <= tags[("marts", "ad_audience")]


def test_demo_run_published_a_masked_snapshot_that_cdw_sql_reads(demo, capsys):
    from orchestration.cli import main

    use_home(demo.home)
    snap = demo.home / "analytics.duckdb"
    assert snap.exists()
    with duckdb.connect(str(snap), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
        assert "marts.customers" in tables and not any(t.startswith(("raw.", "staging.")) for t in tables)
        assert con.execute("SELECT count(*) FROM marts.customers WHERE email LIKE '%@%'").fetchone()[0] == 0
    assert main(["sql", "SELECT count(*) AS n FROM marts.customers WHERE email LIKE 'pii_%'"]) == 0
    assert "n" in capsys.readouterr().out


def test_cdw_sql_falls_back_to_the_warehouse_before_the_first_snapshot(tmp_path, capsys):
    from orchestration.cli import main

    home = tmp_path / "home"
    home.mkdir()
    _warehouse(home / "warehouse.duckdb", ["a@example.com"])
    previous = __import__("os").environ.get("CDW_HOME")
    use_home(home)
    try:
        assert main(["sql", "SELECT email FROM marts.customers"]) == 0
        assert "a@example.com" in capsys.readouterr().out
    finally:
        if previous:
            use_home(__import__("pathlib").Path(previous))
