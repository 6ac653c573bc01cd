"""dbt project end to end on a few hand-made raw rows: `dbt build` (models, data tests, unit
tests) must pass, and identity resolution / golden record / consent must behave as specified.

The raw tables are written directly in the shape the extract step produces
(tests/dbt_fixtures.py), so this test does not depend on the loader or the demo generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbt_fixtures import customer_of as _customer_of
from dbt_fixtures import dbt_build, write_raw
from dbt_fixtures import query as _query

TS = "2024-01-01T00:00:00Z"


def _contact(id_, first, last, email="", phone="", country="US", company_id="", modified=TS, **extra):
    row = dict(hs_object_id=str(id_), firstname=first, lastname=last, email=email, phone=phone,
               country=country, associatedcompanyid=str(company_id), createdate=TS, lastmodifieddate=modified,
               lifecyclestage="lead", hs_email_optout="false")
    row.update(extra)
    return row


def _member(id_, email, status="subscribed", first="", last="", phone="", changed=TS):
    return dict(member_id=id_, list_id="l1", email_address=email, status=status, first_name=first,
                last_name=last, phone=phone, timestamp_opt=TS, last_changed=changed)


def _event(mid, type_, anon, ts, user_id=None, traits=None, event=None, properties=None):
    msg = {"messageId": mid, "type": type_, "anonymousId": anon, "timestamp": ts,
           "context": {"page": {"path": "/pricing"}, "campaign": {"source": "Google", "medium": "cpc", "name": "Spring"}}}
    if user_id:
        msg["userId"] = user_id
    if traits:
        msg["traits"] = traits
    if event:
        msg["event"] = event
    if properties:
        msg["properties"] = properties
    return {"payload": json.dumps(msg)}


SWITCHBOARD = "+1 (212) 555-0100"

RAW = {
    "crm_contacts": [
        # Anna: two CRM versions (newer wins), a member with a case variant, a web visitor
        _contact(1, "Anna", "Schmidt", "anna.schmidt@acme.de", "030 2345 6789", "Germany", 100,
                 modified="2024-01-01T00:00:00Z", jobtitle="CTO"),
        _contact(1, "Anna", "Schmidt", "anna.schmidt@acme.de", "030 2345 6789", "Germany", 100,
                 modified="2024-02-01T00:00:00Z", jobtitle="CEO", lifecyclestage="customer"),
        # John: Gmail dots / +tag / googlemail variants across sources; opted out in the CRM
        _contact(2, "John", "Doe", "j.o.hn.doe+crm@gmail.com", "(415) 555-2671", hs_email_optout="true"),
        # a role mailbox sharing Anna's company: never merged with her
        _contact(3, "Sales", "Team", "sales@acme.de", "", "DE", 100),
        # junk email shared by two unrelated people: never merged
        _contact(4, "Tess", "Test", "test@test.com"),
        _contact(5, "Tom", "Other", "test@test.com"),
        # Paul: CRM without company, work email domain of an account
        _contact(6, "Paul", "Brown", "paul@bigcorp.co.uk", "020 7946 0018", "UK"),
        # a gmail user must not be linked to the company whose domain is gmail.com
        _contact(7, "Gina", "Free", "gina@gmail.com"),
    ]
    # seven strangers behind one office switchboard: the shared phone makes no edge
    + [_contact(10 + i, f"Person{i}", "Office", f"person{i}@office.com", SWITCHBOARD) for i in range(7)],
    "crm_companies": [
        dict(hs_object_id="100", name="Acme GmbH", domain="https://www.Acme.de/", createdate=TS, lastmodifieddate=TS),
        dict(hs_object_id="101", name="BigCorp", domain="bigcorp.co.uk", createdate=TS, lastmodifieddate=TS),
        dict(hs_object_id="102", name="Gmail Fans", domain="gmail.com", createdate=TS, lastmodifieddate=TS),
    ],
    "crm_deals": [
        dict(hs_object_id="900", dealname="Acme", dealstage="closedwon", amount="12000", closedate="2024-03-01T00:00:00Z",
             createdate=TS, lastmodifieddate=TS, associated_contact_id="1", associated_company_id="100"),
        dict(hs_object_id="901", dealname="Acme 2", dealstage="contractsent", amount="3000", createdate=TS,
             lastmodifieddate=TS, associated_contact_id="1", associated_company_id="100"),
    ],
    "email_members": [
        _member("m1", "JohnDoe@googlemail.com", first="Johnny", last="Doe"),
        _member("m2", " Anna.Schmidt@ACME.de ", first="Anna"),
        _member("m3", "paul@bigcorp.co.uk", first="Paul"),
        _member("m4", "zed@zed.io", first="Zed", last="Zee"),
    ],
    "email_campaigns": [dict(campaign_id="c1", list_id="l1", name="Spring", send_time=TS, utm_campaign="spring")],
    "email_events": [
        dict(event_id="e1", campaign_id="c1", member_id="m2", event_type="open", timestamp="2024-03-02T10:00:00Z"),
        # Paul unsubscribed after his last status change: latest event wins, no consent
        dict(event_id="e2", campaign_id="c1", member_id="m3", event_type="unsubscribe", timestamp="2024-03-02T10:00:00Z"),
    ],
    "ad_spend": [dict(date="2024-03-01", platform="google_ads", campaign_id="g1", spend="10.5", impressions="100", clicks="3")],
    "web_events": [
        _event("w1", "page", "anon-1", "2024-03-01T10:00:00Z"),
        _event("w2", "identify", "anon-1", "2024-03-01T10:05:00Z", user_id="u-1",
               traits={"email": "John.Doe@gmail.com", "firstName": "John"}),
        _event("w2", "identify", "anon-1", "2024-03-01T10:05:00Z", user_id="u-1",
               traits={"email": "John.Doe@gmail.com", "firstName": "John"}),  # at-least-once duplicate
        _event("w3", "track", "anon-2", "2024-03-02T10:00:00+02:00", user_id="u-1", event="Demo Requested"),
        _event("w4", "page", "anon-never-identified", "2024-03-03T10:00:00Z"),
        # John's two devices disagree on ads: the newer one grants, the older one withdrew -
        # on the merged profile the most restrictive wins
        _event("w5", "track", "anon-1", "2024-03-05T10:00:00Z", event="Consent Updated",
               properties={"purposes": {"ads": True, "analytics": True}}),
        _event("w6", "track", "anon-2", "2024-03-04T10:00:00Z", user_id="u-1", event="Consent Updated",
               properties={"purposes": {"ads": False}}),
    ],
}


def _dbt_build(tmp: Path, warehouse: Path) -> None:
    result = dbt_build(tmp, warehouse)
    assert result.returncode == 0, result.stdout[-6000:]


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "warehouse.duckdb"
    write_raw(warehouse, RAW)
    _dbt_build(tmp, warehouse)
    return warehouse


def test_build_passes_on_empty_raw_tables(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw(warehouse, {})
    _dbt_build(tmp_path, warehouse)
    assert _query(warehouse, "SELECT count(*) FROM marts.customers") == [(0,)]


def test_every_view_reads_without_dbts_python_functions(built_warehouse):
    # phone_e164() exists only on dbt's connections: a view calling it would break the duckdb CLI
    views = _query(built_warehouse, "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal")
    assert views
    for schema, view in views:
        _query(built_warehouse, f'SELECT * FROM "{schema}"."{view}" LIMIT 1')


def test_models_land_in_their_layer_schemas(built_warehouse):
    schemas = {r[0] for r in _query(built_warehouse, "SELECT DISTINCT table_schema FROM information_schema.tables")}
    assert {"raw", "staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)


def test_staging_keeps_latest_version_and_one_row_per_message(built_warehouse):
    assert _query(built_warehouse, "SELECT job_title FROM staging.stg_crm__contacts WHERE contact_id = 1") == [("CEO",)]
    assert _query(built_warehouse, "SELECT count(*) FROM staging.stg_web__events WHERE message_id = 'w2'") == [(1,)]


def test_gmail_variants_across_sources_are_one_person(built_warehouse):
    john = _customer_of(built_warehouse, "crm_contacts:2")
    assert _customer_of(built_warehouse, "email_members:m1") == john
    assert _customer_of(built_warehouse, "web_visitors:anon-1") == john
    assert _customer_of(built_warehouse, "web_visitors:anon-2") == john  # same userId
    keys = {r[0] for r in _query(built_warehouse, "SELECT record_key FROM marts.customer_source_records")}
    assert "web_visitors:anon-never-identified" not in keys


def test_guardrails_do_not_glue_strangers(built_warehouse):
    anna = _customer_of(built_warehouse, "crm_contacts:1")
    assert _customer_of(built_warehouse, "email_members:m2") == anna
    assert _customer_of(built_warehouse, "crm_contacts:3") != anna  # role mailbox
    assert _customer_of(built_warehouse, "crm_contacts:4") != _customer_of(built_warehouse, "crm_contacts:5")  # junk
    office = {_customer_of(built_warehouse, f"crm_contacts:{10 + i}") for i in range(7)}
    assert len(office) == 7  # shared switchboard phone above identity_max_records_per_identifier


def test_customer_ids_are_deterministic(built_warehouse):
    import hashlib

    expected = "cus_" + hashlib.md5(b"crm_contacts:2").hexdigest()[:16]
    assert _customer_of(built_warehouse, "email_members:m1") == expected


def test_golden_record_survivorship(built_warehouse):
    row = _query(
        built_warehouse,
        "SELECT first_name, first_name_source, email, phone, job_title, lifecycle_stage, account_id, account_link_method,"
        " won_revenue, deal_count FROM marts.customers WHERE customer_id = ?",
        [_customer_of(built_warehouse, "crm_contacts:1")],
    )[0]
    assert row[:6] == ("Anna", "crm_contacts", "anna.schmidt@acme.de", "+493023456789", "CEO", "customer")
    assert row[6].startswith("acc_") and row[7] == "crm_company"
    assert (float(row[8]), row[9]) == (12000.0, 2)
    john = _query(built_warehouse, "SELECT first_name, email, web_event_count FROM marts.customers WHERE customer_id = ?",
                  [_customer_of(built_warehouse, "crm_contacts:2")])[0]
    assert john == ("John", "j.o.hn.doe+crm@gmail.com", 5)  # page, identify, demo request, two consent updates


def test_accounts_link_by_domain_but_never_by_free_mail(built_warehouse):
    paul = _query(built_warehouse, "SELECT a.name, c.account_link_method FROM marts.customers c JOIN marts.accounts a USING (account_id)"
                  " WHERE c.customer_id = ?", [_customer_of(built_warehouse, "crm_contacts:6")])
    assert paul == [("BigCorp", "email_domain")]
    gina = _query(built_warehouse, "SELECT account_id FROM marts.customers WHERE customer_id = ?",
                  [_customer_of(built_warehouse, "crm_contacts:7")])
    assert gina == [(None,)]
    assert _query(built_warehouse, "SELECT domain, people_count FROM marts.accounts WHERE name = 'Gmail Fans'") == [(None, 0)]


def test_email_audience_holds_only_consenting_people(built_warehouse):
    audience = {r[0] for r in _query(built_warehouse, "SELECT email FROM marts.email_audience")}
    # Anna and Zed subscribed; John opted out in the CRM; Paul unsubscribed by a later event
    assert audience == {"anna.schmidt@acme.de", "zed@zed.io"}


def test_merged_profile_with_conflicting_consent_gets_the_most_restrictive(built_warehouse):
    john = _customer_of(built_warehouse, "crm_contacts:2")
    row = _query(built_warehouse, "SELECT email_marketing_consent, email_marketing_consent_source, ads_consent,"
                 " ads_consent_status, ads_consent_since, analytics_consent FROM marts.customers WHERE customer_id = ?",
                 [john])[0]
    # email: member m1 subscribed, CRM contact opted out -> withdrawn; ads: granted on one device,
    # withdrawn on the other -> withdrawn (decided by the withdrawal); analytics: granted
    assert row[:4] == (False, "crm.hs_email_optout", False, "withdrawn")
    assert str(row[4]) == "2024-03-04 10:00:00" and row[5] is True
    ledger = _query(built_warehouse, "SELECT purpose, has_conflicting_records FROM marts.consent_ledger"
                    " WHERE customer_id = ? ORDER BY purpose", [john])
    assert ledger == [("ads", True), ("analytics", False), ("email_marketing", True)]


def test_rfm_scores_every_customer(built_warehouse):
    n_customers = _query(built_warehouse, "SELECT count(*) FROM marts.customers")[0][0]
    rows = _query(built_warehouse, "SELECT count(*), count(rfm_segment) FROM marts.customer_rfm")[0]
    assert rows == (n_customers, n_customers)
    buyer = _query(built_warehouse, "SELECT monetary, m_score FROM marts.customer_rfm WHERE customer_id = ?",
                   [_customer_of(built_warehouse, "crm_contacts:1")])
    assert float(buyer[0][0]) == 12000.0 and buyer[0][1] >= 2
    non_buyers = _query(built_warehouse, "SELECT DISTINCT m_score FROM marts.customer_rfm WHERE monetary = 0")
    assert non_buyers == [(1,)]


def test_every_mart_column_is_documented(built_warehouse):
    """Analysts read the marts through dbt docs: every column of every table in marts (as built, so
    columns a `star` brings in count too) has a description in the project's YAML."""
    manifest = json.loads((built_warehouse.parent / "target" / "manifest.json").read_text())
    documented = {
        node["alias"] or node["name"]: {c.lower() for c, col in node["columns"].items() if (col.get("description") or "").strip()}
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    built = _query(built_warehouse, "SELECT table_name, column_name FROM information_schema.columns "
                                    "WHERE table_schema = 'marts' ORDER BY table_name, ordinal_position")
    missing = [f"{t}.{c}" for t, c in built if t in documented and c.lower() not in documented[t]]
    assert not missing, f"{len(missing)} undocumented mart columns: {missing}"
