"""The GX suites on real warehouses: all green on the demo run, and each kind of defect caught by
the expectation meant for it, with its observed value and masked offending rows.

The defects are planted in a copy of the demo warehouse (no extra pipeline runs); the blocking
behaviour in a real run is in test_gate.py.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from data_quality import suites
from data_quality.runner import validate_table
from data_quality.suites import suite_modules

MODULES = {m.__name__.rsplit(".", 1)[-1]: m for m in suite_modules()}


@pytest.fixture
def warehouse(demo, tmp_path):
    """A private copy of the demo warehouse to break things in."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo.warehouse, copy)
    return copy


def sql(warehouse, query, params=None):
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(query, params or []).fetchall()


def failed(outcome) -> dict[str, object]:
    return {e.label(): e for e in outcome.failed}


def test_every_layer_is_covered_and_registered_as_a_blocking_check(demo):
    tables = {m.TABLE for m in suite_modules()}
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        raw = {f"raw.{t}" for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
        ).fetchall()}
    assert raw <= tables  # every raw source has its contract suite
    assert {"staging.stg_crm__contacts", "staging.stg_marketing__email_members", "staging.stg_web__events",
            "marts.customer_source_records", "marts.customers", "marts.accounts", "marts.customer_rfm",
            "marts.email_audience"} <= tables
    evaluations = {e.asset_check_key.name: e for e in demo.second.get_asset_check_evaluations()}
    for name in MODULES:
        assert evaluations[f"gx_{name}"].passed, (name, evaluations[f"gx_{name}"].metadata["failed_expectations"])
    from orchestration.defs.quality.checks import gx_checks

    blocking = {spec.name: spec.blocking for check in gx_checks for spec in check.check_specs}
    assert blocking == {f"gx_{n}": True for n in MODULES}


def test_history_is_kept_and_raw_is_rechecked_incrementally(demo):
    history = demo.sql("SELECT run_id, check_name, passed, row_count FROM quality.gate_history")
    runs = {r[0] for r in history}
    assert {demo.first.run_id, demo.second.run_id} <= runs
    assert all(passed for _, _, passed, _ in history)
    # raw is append-only: the first run checked every row, the second (no new file) none
    first = {e.asset_check_key.name: e for e in demo.first.get_asset_check_evaluations()}
    ev = {e.asset_check_key.name: e for e in demo.second.get_asset_check_evaluations()}
    n_raw = demo.sql("SELECT count(*) FROM raw.crm_contacts")[0][0]
    assert f"| expect_column_min_to_be_between(rows_checked) | pass | {n_raw} |" in first["gx_raw_crm_contacts"].metadata["results"].value
    assert "| expect_column_min_to_be_between(rows_checked) | pass | 0 |" in ev["gx_raw_crm_contacts"].metadata["results"].value
    assert ev["gx_customers"].metadata["table_rows"].value == demo.sql("SELECT count(*) FROM marts.customers")[0][0]


def test_duplicate_key_in_staging_fails_with_masked_samples(warehouse):
    sql(warehouse, "INSERT INTO staging.stg_crm__contacts SELECT * FROM staging.stg_crm__contacts WHERE email IS NOT NULL LIMIT 1")
    sql(warehouse, "UPDATE staging.stg_crm__contacts SET email = 'Not An Email' WHERE rowid = 1")
    out = validate_table(MODULES["stg_crm__contacts"], warehouse)
    bad = failed(out)
    assert set(bad) == {"expect_column_max_to_be_between(duplicate_contact_id)",
                        "expect_column_max_to_be_between(email_bad_format)",
                        "expect_column_max_to_be_between(email_not_normalized)"}
    assert out.blocking and bad["expect_column_max_to_be_between(duplicate_contact_id)"].observed == 1
    (sample,) = bad["expect_column_max_to_be_between(duplicate_contact_id)"].samples
    assert sample.startswith("contact_id=") and sample.endswith("copies=2")
    (bad_email,) = bad["expect_column_max_to_be_between(email_bad_format)"].samples
    assert "email=N**" in bad_email and "Not An Email" not in bad_email  # PII masked


def test_identity_breaks_are_caught(warehouse):
    sql(warehouse, "DELETE FROM marts.customer_source_records WHERE rowid = (SELECT min(rowid) FROM marts.customer_source_records)")
    bad = failed(validate_table(MODULES["customer_source_records"], warehouse))
    assert bad["expect_column_max_to_be_between(unmapped_records)"].observed == 1
    assert bad["expect_column_max_to_be_between(unmapped_records)"].samples[0].startswith("source=")


def test_absurd_cluster_fails_identity_and_customers(warehouse, monkeypatch):
    monkeypatch.setenv("CDW_GATE_MAX_RECORDS_PER_CUSTOMER", "1")
    biggest = sql(warehouse, "SELECT max(source_record_count) FROM marts.customers")[0][0]
    assert biggest > 1
    bad = failed(validate_table(MODULES["customer_source_records"], warehouse))
    assert bad["expect_column_max_to_be_between(max_records_per_customer)"].observed == biggest
    assert "expect_column_values_to_be_between(source_record_count)" in failed(validate_table(MODULES["customers"], warehouse))


def test_referential_integrity_between_marts(warehouse):
    cid = sql(warehouse, "SELECT customer_id FROM marts.customers WHERE account_id IS NOT NULL "
                         "AND customer_id NOT IN (SELECT customer_id FROM marts.email_audience) LIMIT 1")[0][0]
    sql(warehouse, "UPDATE marts.customers SET account_id = 'acc_0000000000000000' WHERE customer_id = ?", [cid])
    sql(warehouse, "DELETE FROM marts.customers WHERE customer_id IN (SELECT customer_id FROM marts.email_audience LIMIT 1)")
    bad = failed(validate_table(MODULES["customers"], warehouse))
    assert bad["expect_column_values_to_be_in_set(account_exists)"].samples == [f"customer_id={cid}, account_exists=False"]
    assert "expect_column_values_to_be_in_set(is_customer)" in failed(validate_table(MODULES["email_audience"], warehouse))
    assert "expect_column_values_to_be_in_set(people_count_matches_customers)" in failed(
        validate_table(MODULES["accounts"], warehouse))


def test_volume_change_against_last_good_run_with_configurable_tolerance(warehouse, monkeypatch):
    module = MODULES["customer_rfm"]
    assert validate_table(module, warehouse, record=True).success
    before = sql(warehouse, "SELECT count(*) FROM marts.customer_rfm")[0][0]
    sql(warehouse, "DELETE FROM marts.customer_rfm WHERE rowid % 3 <> 0")
    after = sql(warehouse, "SELECT count(*) FROM marts.customer_rfm")[0][0]
    assert after < before * 0.5
    out = validate_table(module, warehouse, record=True)
    (only,) = out.failed
    assert (only.label(), only.observed) == ("expect_column_max_to_be_between(row_count)", after)
    # the failed evaluation does not become the new baseline ...
    assert not validate_table(module, warehouse).success
    # ... and a wider tolerance accepts the drop
    monkeypatch.setenv("CDW_GATE_VOLUME_TOLERANCE", "0.95")
    assert validate_table(module, warehouse).success


def test_quarantine_rate_per_delivery_fails_until_a_good_delivery_follows(warehouse, monkeypatch):
    module = MODULES["raw_crm_contacts"]
    now = datetime.now(UTC).replace(tzinfo=None)
    log = "INSERT INTO raw._load_log (load_id, source, file, sha256, bytes, status, rows_read, rows_loaded, rows_quarantined, message, loaded_at) VALUES ('x', 'crm_contacts', ?, 'sha', 1, 'loaded', ?, ?, ?, '', ?)"
    sql(warehouse, log, ["crm/contacts/bad_batch.csv", 20, 18, 2, now])  # 10% quarantined
    out = validate_table(module, warehouse)
    bad = failed(out)
    rate = bad["expect_column_max_to_be_between(worst_delivery_quarantine_rate)"]
    assert out.blocking and rate.observed == pytest.approx(0.1)
    assert rate.samples == ["file=crm/contacts/bad_batch.csv, rows_read=20, rows_quarantined=2, quarantine_rate=0.1, "
                            "to_clear=re-deliver it fixed under the same name, or remove it from landing"]
    monkeypatch.setenv("CDW_GATE_MAX_QUARANTINE_RATE", "0.2")  # configurable threshold
    assert validate_table(module, warehouse).success
    monkeypatch.delenv("CDW_GATE_MAX_QUARANTINE_RATE")
    # the source re-delivers fixed data: the bad delivery no longer blocks
    sql(warehouse, log, ["crm/contacts/bad_batch_fixed.csv", 20, 20, 0, now + timedelta(seconds=1)])
    assert validate_table(module, warehouse).success


def test_refused_file_and_stale_source_warn_without_blocking(warehouse, monkeypatch):
    module = MODULES["raw_web_events"]
    now = datetime.now(UTC).replace(tzinfo=None)
    sql(warehouse, "INSERT INTO raw._load_log "
                   "(load_id, source, file, sha256, bytes, status, rows_read, rows_loaded, rows_quarantined, message, loaded_at) VALUES ('x', 'web_events', 'web/events/cut.jsonl.gz', 'sha', 1, "
                   "'refused', 0, 0, 0, 'web/events/cut.jsonl.gz: line 7: truncated or corrupt gzip stream', ?)", [now])
    monkeypatch.setenv("CDW_GATE_FRESHNESS_HOURS", "0")
    out = validate_table(module, warehouse)
    bad = failed(out)
    assert set(bad) == {"expect_column_max_to_be_between(refused_deliveries)",
                        "expect_column_max_to_be_between(hours_since_last_delivery)"}
    assert all(e.severity == "warning" for e in bad.values()) and not out.blocking
    assert "line 7: truncated" in bad["expect_column_max_to_be_between(refused_deliveries)"].samples[0]


def test_raw_rows_breaking_the_contract_are_caught(warehouse):
    sql(warehouse, "UPDATE raw.crm_deals SET dealstage = 'won-ish', _loaded_at = now()::TIMESTAMP + INTERVAL 1 HOUR "
                   "WHERE rowid = 3")
    bad = failed(validate_table(MODULES["raw_crm_deals"], warehouse))
    assert set(bad) == {"expect_column_max_to_be_between(not_allowed__dealstage)"}
    assert bad["expect_column_max_to_be_between(not_allowed__dealstage)"].samples[0].startswith("_file=crm/deals/")


def test_suite_registry_only_holds_suites():
    assert all(hasattr(m, "TABLE") and hasattr(m, "build_suite") for m in suites.suite_modules())
    assert len({m.TABLE for m in suite_modules()}) == len(suite_modules())  # one module per table
