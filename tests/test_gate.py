"""A failing quality gate blocks the exports, keeps the last good ones, and the next good run recovers."""

from __future__ import annotations

import csv
import json
import os

from conftest import copy_of_demo, use_home

CONTACT_COLUMNS = ["hs_object_id", "firstname", "lastname", "email", "phone", "mobilephone", "company",
                   "jobtitle", "address", "city", "state", "zip", "country", "date_of_birth",
                   "lifecyclestage", "hs_lead_status", "hs_email_optout", "associatedcompanyid",
                   "createdate", "lastmodifieddate"]


def deliver_contact(landing, name, contact_id, firstname, modified):
    path = landing / "crm" / "contacts" / name
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, CONTACT_COLUMNS)
        w.writeheader()
        w.writerow({"hs_object_id": contact_id, "firstname": firstname, "lastname": "Garbage",
                    "email": "garbage.delivery@example-corp.com", "lifecyclestage": "lead",
                    "createdate": "2026-10-01T00:00:00Z", "lastmodifieddate": modified})


def test_failing_gate_blocks_export_and_next_good_run_recovers(demo, tmp_path):
    from orchestration.runner import run_pipeline

    home = copy_of_demo(demo, tmp_path / "cdw")
    landing = home / "landing"
    export = home / "exports" / "email_audience" / "email_audience.csv"
    manifest = home / "exports" / "email_audience" / "email_audience.manifest.json"
    good_bytes, good_manifest = export.read_bytes(), manifest.read_text()

    # a CRM delivery whose contact carries a 5,000-character first name: valid CSV, passes the raw
    # contract and dbt's key tests, but no real name looks like that
    deliver_contact(landing, "contacts_broken.csv", 990000001, "X" * 5000, "2026-10-02T00:00:00Z")
    use_home(home)
    bad = run_pipeline()
    assert not bad.success
    evaluations = {e.asset_check_key.name: e for e in bad.get_asset_check_evaluations()}
    failed = evaluations["gx_customers"]
    assert not failed.passed
    assert "expect_column_value_lengths_to_be_between(first_name)" in failed.metadata["failed_expectations"].value
    assert "XXXX" not in str(failed.metadata["results"].value)  # samples are masked
    materialized = {e.asset_key.to_user_string() for e in bad.get_asset_materialization_events()}
    assert "exports/email_audience" not in materialized
    assert export.read_bytes() == good_bytes and manifest.read_text() == good_manifest

    # the source fixes the record (same id, newer version): the next run passes with no manual step
    deliver_contact(landing, "contacts_fixed.csv", 990000001, "Xavier", "2026-10-03T00:00:00Z")
    use_home(home)
    recovered = run_pipeline()
    assert recovered.success
    assert json.loads(manifest.read_text())["run_id"] == recovered.run_id



def test_delivery_with_too_many_quarantined_rows_blocks_until_the_source_redelivers(demo, tmp_path):
    """A raw gate failure stops the run before dbt: nothing downstream changes, the run names the
    file; the source's corrected delivery lets the next run through with no manual step."""
    from orchestration.runner import run_pipeline

    home = copy_of_demo(demo, tmp_path / "cdw")
    landing = home / "landing"
    manifest = home / "exports" / "email_audience" / "email_audience.manifest.json"
    good_manifest = manifest.read_text()

    # 1 good row, 3 without their record id: 75% rejected
    path = landing / "crm" / "contacts" / "contacts_batch.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, CONTACT_COLUMNS)
        w.writeheader()
        for i, object_id in enumerate([990000100, "", "", ""]):
            w.writerow({"hs_object_id": object_id, "firstname": "Batch", "lastname": f"Row{i}",
                        "lifecyclestage": "lead", "createdate": "2026-10-01T00:00:00Z",
                        "lastmodifieddate": "2026-10-02T00:00:00Z"})
    use_home(home)
    bad = run_pipeline()
    assert not bad.success
    evaluations = {e.asset_check_key.name: e for e in bad.get_asset_check_evaluations()}
    failed = evaluations["gx_raw_crm_contacts"]
    assert not failed.passed
    assert "worst_delivery_quarantine_rate" in failed.metadata["failed_expectations"].value
    assert "crm/contacts/contacts_batch.csv" in failed.metadata["results"].value
    materialized = {e.asset_key.to_user_string() for e in bad.get_asset_materialization_events()}
    assert "raw/crm_contacts" in materialized  # the good row is loaded (lineage kept) ...
    # ... but goes no further (web events, which do not read CRM contacts, are staged as usual)
    assert not any(k.startswith(("staging/stg_crm", "marts/", "exports/")) for k in materialized)
    assert manifest.read_text() == good_manifest

    # the source re-sends the batch corrected: the next run passes and publishes
    path.with_name("contacts_batch_fixed.csv").write_text(
        "\n".join(line if not line.startswith(",") else f"99000020{n}{line}"
                  for n, line in enumerate(path.read_text().splitlines())) + "\n")
    use_home(home)
    recovered = run_pipeline()
    assert recovered.success
    assert json.loads(manifest.read_text())["run_id"] == recovered.run_id


def test_failing_staging_gate_holds_back_every_export_and_the_snapshot(demo, tmp_path, monkeypatch):
    """A staging suite fails: no mart built on it, no export, CRM write-back or snapshot happens
    (they wait for the whole gate), the run names the expectation, and the next good run
    publishes again."""
    from orchestration.governance import audit
    from orchestration.runner import run_pipeline

    home = copy_of_demo(demo, tmp_path / "cdw")
    landing = home / "landing"
    published = sorted(p for p in (home / "exports").rglob("*") if p.is_file())
    assert any(p.name.endswith(".manifest.json") for p in published)
    before = {p: p.read_bytes() for p in published}
    snapshot = home / "analytics.duckdb"
    snapshot_before = (snapshot.read_bytes(), os.stat(snapshot).st_mtime_ns)

    # a new day of page views by visitors already known: staging.stg_web__events grows, no mart's
    # row count moves; with a zero volume tolerance only the staging gate fails
    (anon,) = {json.loads(line)["anonymousId"] for f in sorted((landing / "web" / "events").glob("*.jsonl"))[:1]
               for line in f.read_text().splitlines()[:1]}
    views = [{"messageId": f"gate-view-{i}", "type": "page", "anonymousId": anon, "timestamp": "2026-10-02T10:00:00Z",
              "context": {"page": {"path": f"/pricing/{i}"}}} for i in range(5)]
    (landing / "web" / "events" / "gate-2026-10-02.jsonl").write_text("".join(json.dumps(v) + "\n" for v in views))
    monkeypatch.setenv("CDW_GATE_VOLUME_TOLERANCE", "0")
    use_home(home)
    bad = run_pipeline()
    assert not bad.success
    evaluations = {e.asset_check_key.name: e for e in bad.get_asset_check_evaluations()}
    failed = {name for name, e in evaluations.items() if not e.passed}
    assert failed == {"gx_stg_web__events"}, failed
    assert "expect_column_max_to_be_between(row_count)" in evaluations["gx_stg_web__events"].metadata["failed_expectations"].value
    materialized = {e.asset_key.to_user_string() for e in bad.get_asset_materialization_events()}
    # stg_web__events is built by the event-day dbt step: its blocking check holds back the marts
    # built on it in the next dbt step, and every export and the snapshot
    assert "staging/stg_web__events" in materialized and "marts/customers" not in materialized
    assert not any(k.startswith("exports/") for k in materialized)  # nothing went out
    assert "governance/analyst_snapshot" not in materialized
    assert {p: p.read_bytes() for p in sorted(p for p in (home / "exports").rglob("*") if p.is_file())} == before
    assert (snapshot.read_bytes(), os.stat(snapshot).st_mtime_ns) == snapshot_before
    assert not [e for e in audit.entries() if e["run_id"] == bad.run_id and e["action"] in ("data_export", "snapshot_publish")]

    # the threshold back to normal: the next run passes and publishes, nothing to clean up by hand
    monkeypatch.delenv("CDW_GATE_VOLUME_TOLERANCE")
    use_home(home)
    recovered = run_pipeline()
    assert recovered.success
    for name in ("email_audience", "google_customer_match", "meta_custom_audience"):
        manifest = json.loads((home / "exports" / name / f"{name}.manifest.json").read_text())
        assert manifest["run_id"] == recovered.run_id
        assert manifest["gate_results"]["staging/stg_web__events:gx_stg_web__events"] == "passed"
    assert [e["run_id"] for e in audit.entries("snapshot_publish")][-1] == recovered.run_id


def test_failing_dbt_test_fails_the_run_keeps_what_dbt_built_and_holds_the_exports(demo, tmp_path):
    """A dbt data test (severity error) fails: the dbt step fails with dbt's error after reporting
    what dbt did build (with row counts) and the failed check; dbt skips the models downstream of
    the failing one, and nothing is exported."""
    import duckdb

    from orchestration.runner import run_pipeline

    home = copy_of_demo(demo, tmp_path / "cdw")
    exports_before = {p: p.read_bytes() for p in (home / "exports").rglob("*") if p.is_file()}
    # a raw deal in a stage the staging model's accepted_values test does not know (written past
    # the extract's contract, as a buggy loader or a hand edit would)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("INSERT INTO raw.crm_deals SELECT * REPLACE ('990000777' AS hs_object_id, 'bogus' AS dealstage) "
                    "FROM raw.crm_deals LIMIT 1")
    use_home(home)
    bad = run_pipeline()
    assert not bad.success
    failed_checks = [e for e in bad.get_asset_check_evaluations() if not e.passed]
    assert [e.asset_check_key.asset_key.to_user_string() for e in failed_checks] == ["staging/stg_crm__deals"]
    assert "accepted_values" in failed_checks[0].asset_check_key.name
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata for e in bad.get_asset_materialization_events()}
    assert "staging/stg_crm__deals" in materialized  # built (a view), then its test failed
    assert materialized["staging/stg_crm__contacts"]["dagster/row_count"].value > 0  # other branches built, counted
    assert "marts/deals" not in materialized  # dbt skipped what reads the failing model
    assert not any(k.startswith("exports/") for k in materialized)
    failures = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["warehouse_dbt_models"]
    assert {p: p.read_bytes() for p in (home / "exports").rglob("*") if p.is_file()} == exports_before
