"""Activation: ad platform hashing against the platforms' published examples, export manifests
and reproducibility on the demo run, CRM write-back against a local HubSpot-shaped server, and
no PII in the run's Dagster event log."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import duckdb
import pytest
from dbt_fixtures import contract_columns
from hubspot_fake import FakeHubSpot

from orchestration.governance.hashing import (
    google_email,
    google_phone,
    hashed,
    meta_email,
    meta_phone,
    sha256_hex,
)

# --- hashing: the platforms' own examples ------------------------------------------------------

def test_meta_published_test_vectors():
    # Meta, Conversions API "Customer information parameters" (user_data em / ph / fn), which
    # gives input, normalized form and expected SHA-256 for each:
    # https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters
    assert meta_email("John_Smith@gmail.com") == "john_smith@gmail.com"
    assert hashed("meta_custom_audience", "email", "John_Smith@gmail.com") == \
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    assert meta_phone("(650)555-1212") == "16505551212"  # "US phone number (650)555-1212"
    assert hashed("meta_custom_audience", "phone", "(650)555-1212") == \
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    assert sha256_hex("mary") == "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"  # fn "Mary"
    assert sha256_hex("valéry") == "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"  # UTF-8


def test_google_documented_normalization_examples():
    # Google Data Manager API / Customer Match, "Format user data":
    # https://developers.google.com/data-manager/api/get-started/formatting
    # Google publishes the normalized forms (not hashes): "(800)555-0100 should be formatted and
    # normalized to +18005550100"; gmail.com / googlemail.com: remove all dots before the @;
    # lowercase; trim leading, trailing and intermediate whitespace.
    assert google_phone("(800)555-0100") == "+18005550100"
    assert hashed("google_customer_match", "phone", "(800)555-0100") == hashlib.sha256(b"+18005550100").hexdigest()
    assert google_email(" Jane.Doe@GMAIL.com ") == "janedoe@gmail.com"
    assert google_email("jane.doe@googlemail.com") == "janedoe@googlemail.com"
    assert google_email("Jane. Doe@Example.com") == "jane.doe@example.com"  # dots kept off Gmail
    assert google_phone("+44 20 7946 0958") == "+442079460958"


def test_platforms_differ_on_gmail_and_phone_format():
    address = " John.Smith+news@Gmail.com "
    assert google_email(address) == "johnsmith+news@gmail.com"   # Google folds Gmail dots
    assert meta_email(address) == "john.smith+news@gmail.com"    # Meta only trims and lowercases
    assert hashed("google_customer_match", "email", address) != hashed("meta_custom_audience", "email", address)
    assert google_phone("+1 650 555 1212") == "+16505551212" and meta_phone("+1 650 555 1212") == "16505551212"
    assert meta_phone("0044 20 7946 0958") == "442079460958"  # international prefix 00, no leading zeros
    assert hashed("meta_custom_audience", "phone", "not a phone") is None


# --- exports on the demo run -------------------------------------------------------------------

def test_every_export_has_a_manifest_matching_its_file(demo):
    for name in ("email_audience", "google_customer_match", "meta_custom_audience"):
        folder = demo.home / "exports" / name
        manifest = json.loads((folder / f"{name}.manifest.json").read_text())
        data = (folder / f"{name}.csv").read_bytes()
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["rows"] == len(data.decode().splitlines()) - 1
        assert manifest["run_id"] == demo.second.run_id
        assert manifest["consent_purpose"] in ("email_marketing", "ads")
        assert manifest["gate_results"] and all(v == "passed" for v in manifest["gate_results"].values())
        assert not list(folder.glob(".*.tmp"))  # atomic: no temp file left behind


def test_exports_are_reproducible_across_runs(demo):
    from conftest import use_home

    use_home(demo.home)
    from orchestration.governance import audit

    by_target = {}
    for e in audit.entries("data_export"):
        if e["target"] != "crm_writeback":
            by_target.setdefault(e["target"], []).append((e["run_id"], e["sha256"]))
    for target, runs in by_target.items():
        assert {r for r, _ in runs} >= {demo.first.run_id, demo.second.run_id}, target
        assert len({sha for _, sha in runs}) == 1, f"{target} differs between runs on the same data"


def test_exports_only_carry_consenting_people(demo):
    emails = {r["email"] for r in csv.DictReader(open(demo.home / "exports/email_audience/email_audience.csv"))}
    consenting = {e for (e,) in demo.sql(
        "SELECT c.email FROM marts.customers c JOIN marts.consent_ledger l USING (customer_id) "
        "WHERE l.purpose = 'email_marketing' AND l.has_consent")}
    assert emails and emails <= consenting
    withdrawn = {e for (e,) in demo.sql(
        "SELECT c.email FROM marts.customers c JOIN marts.consent_ledger l USING (customer_id) "
        "WHERE l.purpose = 'email_marketing' AND l.consent_status = 'withdrawn' AND c.email IS NOT NULL")}
    assert withdrawn and not (emails & withdrawn)
    # ads consent comes from the demo's cookie banner (web "Consent Updated" events)
    meta = {r["email"] for r in csv.DictReader(open(demo.home / "exports/meta_custom_audience/meta_custom_audience.csv"))}

    def ads(status_sql: str) -> set[str]:
        return {hashlib.sha256(e.strip().lower().encode()).hexdigest() for (e,) in demo.sql(
            "SELECT c.email FROM marts.customers c JOIN marts.consent_ledger l USING (customer_id) "
            f"WHERE l.purpose = 'ads' AND {status_sql} AND c.email IS NOT NULL")}

    assert meta and meta - {""} <= ads("l.has_consent")
    refused = ads("NOT l.has_consent")
    assert refused and not (meta & refused)


def test_crm_writeback_not_configured_by_default(demo):
    mats = [e for e in demo.second.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "exports/crm_writeback"]
    assert mats and mats[0].materialization.metadata["status"].value == "not configured"


def test_no_pii_in_the_run_event_log(demo):
    """Log messages and metadata of every event of the demo run: no email or phone of anybody."""
    import dagster as dg
    from conftest import use_home

    use_home(demo.home)
    emails = {e for (e,) in demo.sql("SELECT email FROM staging.stg_crm__contacts WHERE email IS NOT NULL")}
    phones = {p for (p,) in demo.sql("SELECT phone_e164 FROM staging.stg_crm__contacts WHERE phone_e164 IS NOT NULL")}
    with dg.DagsterInstance.get() as instance:
        for run in (demo.first, demo.second):
            records = instance.all_logs(run.run_id)
            assert len(records) > 50
            text = "\n".join(str(r.user_message) + " " + repr(r.dagster_event) for r in records).lower()
            leaked = [e for e in emails if e in text] + [p for p in phones if p in text]
            assert not leaked, f"{len(leaked)} identifiers in the Dagster event log, e.g. a {'phone' if leaked[0] in phones else 'email'}"


# --- CRM write-back against a local HubSpot-shaped server -----------------------------------------

@pytest.fixture
def hubspot():
    server = FakeHubSpot()
    yield server
    server.close()


def test_crm_writeback_mart_has_its_contract_columns_with_every_source(demo):
    """All sources delivered: the write-back's mart has exactly the columns its yml promises (the
    CRM-only home has the same: tests/test_run_safety.py)."""
    built, promised = contract_columns(demo.warehouse, "crm_contact_writeback", "marts/audiences")
    assert built == promised == [("crm_contact_id", "VARCHAR"), ("customer_id", "VARCHAR"),
                                 ("has_profiling_consent", "BOOLEAN"), ("lead_score", "DOUBLE"),
                                 ("lifecycle_stage", "VARCHAR"), ("segments", "VARCHAR")]
    # every source delivered: consenting contacts carry every property, from every mart it reads
    (with_all,) = demo.sql("SELECT count(*) FROM marts.crm_contact_writeback WHERE has_profiling_consent "
                           "AND lead_score IS NOT NULL AND lifecycle_stage IS NOT NULL AND segments LIKE '%audience%'")[0]
    assert with_all > 0


def test_crm_writeback_is_idempotent_and_retries(demo, hubspot, tmp_path):
    from orchestration.crm_client import CrmClient, CrmError
    from orchestration.defs.exports.assets import CRM_WRITEBACK_PURPOSE, crm_updates
    from orchestration.defs.exports.crm import CDW_PROPERTIES, write_back

    (n_contacts,) = demo.sql("SELECT count(*) FROM marts.customer_source_records WHERE source = 'crm_contacts'")[0]
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        some, withheld = crm_updates(con)
        (consenting,) = con.execute(
            "SELECT count(*) FROM marts.customer_source_records r JOIN marts.consent_ledger l USING (customer_id) "
            "WHERE r.source = 'crm_contacts' AND l.purpose = ? AND l.has_consent", [CRM_WRITEBACK_PURPOSE]).fetchone()
    # only contacts whose person gave analytics (profiling) consent - the demo's cookie banner - are pushed
    assert 0 < len(some) == consenting < n_contacts and len(some) + len(withheld) == n_contacts
    # a copy of the warehouse where everyone granted it
    warehouse = tmp_path / "consented.duckdb"
    shutil.copy(demo.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.crm_contact_writeback SET has_profiling_consent = true, segments = ''")
        updates, withheld = crm_updates(con)
    assert len(updates) == n_contacts > 100 and not withheld
    sample = next(iter(updates.values()))
    assert set(sample) == {"cdw_customer_id", "cdw_lead_score", "cdw_lifecycle_stage", "cdw_segments"}
    state = tmp_path / "state.json"
    sleeps = []
    client = CrmClient(hubspot.url, "secret-token", sleep=sleeps.append)

    hubspot.fail_next = [429, 503]  # rate limited, then a server error: both retried
    first = write_back(client, updates, state)
    assert first["sent"] == len(updates) and first["batches"] == -(-len(updates) // 100)
    assert first["retries"] == 2 and sleeps[0] == 0.0  # Retry-After honoured
    assert hubspot.contacts.keys() == updates.keys()
    assert all(hubspot.contacts[k] == v for k, v in updates.items())

    calls = len(hubspot.calls)
    again = write_back(CrmClient(hubspot.url, "secret-token", sleep=sleeps.append), updates, state)
    assert again["sent"] == 0 and again["unchanged"] == len(updates) and len(hubspot.calls) == calls

    changed_id = sorted(updates)[0]
    changed = {**updates, changed_id: {**updates[changed_id], "cdw_segments": "vip"}}
    third = write_back(CrmClient(hubspot.url, "secret-token", sleep=sleeps.append), changed, state)
    assert third["sent"] == 1 and hubspot.contacts[changed_id]["cdw_segments"] == "vip"
    # consent withdrawn: the CDP's properties on the contact are emptied once, then it is forgotten
    withdrawn = sorted(updates)[1]
    remaining = {k: v for k, v in changed.items() if k != withdrawn}
    fourth = write_back(CrmClient(hubspot.url, "secret-token"), remaining, state, clear={withdrawn})
    assert (fourth["sent"], fourth["cleared"]) == (0, 1)
    assert hubspot.contacts[withdrawn] == {p: "" for p in CDW_PROPERTIES}
    calls = len(hubspot.calls)
    fifth = write_back(CrmClient(hubspot.url, "secret-token"), remaining, state, clear={withdrawn})
    assert (fifth["sent"], fifth["cleared"]) == (0, 0) and len(hubspot.calls) == calls
    # no PII in the state: contact ids and hashes only
    assert "@" not in state.read_text()

    with pytest.raises(CrmError, match="HTTP 401"):
        write_back(CrmClient(hubspot.url, "wrong", sleep=sleeps.append), {"1": {"a": "b"}}, tmp_path / "s2.json")
    hubspot.fail_next = [503] * 10
    with pytest.raises(CrmError, match="HTTP 503"):
        write_back(CrmClient(hubspot.url, "secret-token", sleep=sleeps.append, max_attempts=3), {"1": {"a": "b"}},
                   tmp_path / "s3.json")
