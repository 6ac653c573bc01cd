"""GDPR governance end to end on a small generated population with hand-written web consent events:
consent ledger (latest wins, most restrictive on merged profiles), exports filtered by it,
retention, right of access, analyst snapshot (masked, readable while a run writes), right to
erasure (CLI and request file) that survives a rebuild from scratch, and the audit log.

One home, three pipeline runs (initial, erasure, rebuild from scratch); tests run in file order.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from conftest import use_home
from hubspot_fake import GDPR_DELETE, TOKEN, FakeHubSpot

PEOPLE = 200
SEED = 7
KEY = "test-erasure-key-0123456789abcdef"


def _people_with_emails(landing: Path) -> list[tuple[str, list[str]]]:
    """(person_id, emails of their CRM contacts) for people with one CRM contact that has a
    plain, well-formed email - distinct people per the generator's ground truth."""
    truth = {}
    with open(landing / "_truth" / "people.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["source"], row["source_record_id"])] = row["person_id"]
    emails = defaultdict(list)
    with open(landing / "crm" / "contacts" / "contacts.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            pid = truth.get(("crm_contacts", row["hs_object_id"]))
            e = (row["email"] or "").strip()
            if pid and e and "@" in e and e == e.lower() and " " not in e:
                emails[pid].append(e)
    return sorted((p, es) for p, es in emails.items() if len(es) == 1)


# One person delivered in every format the sources carry: Gmail dots, +tags and googlemail.com,
# case and surrounding spaces, national and international phones, a country named as people
# type it. Ids far from the generator's (contacts from 100000, members are 32-hex).
EVERYFORMAT_CONTACTS = ("990001", "990002", "990003")
EVERYFORMAT_NEEDLES = ("eviformat", "evi.format", "e.v.i.format", "+441314960958", "+447400123456", "0131 496 0958",
                       "7400 123456", "131 496 0958", "anon-everyformat", "evifmt0000000000000000000000001")


def _contact(header: list[str], **values) -> dict:
    return {c: values.get(c, "") for c in header} | {"createdate": "2026-05-01T10:00:00Z",
                                                    "lastmodifieddate": "2026-05-02T10:00:00Z"}


def _write_everyformat(landing: Path, late: bool = False) -> None:
    with open(landing / "crm" / "contacts" / "contacts.csv", newline="") as fh:
        header = next(csv.reader(fh))
    if late:  # after the erasure: an old export replayed, the national phone only, and a new device
        contacts = [_contact(header, hs_object_id=EVERYFORMAT_CONTACTS[2], firstname="Evi", lastname="Format",
                             phone="(0131) 496 0958", country="Scotland")]
        web = [{"messageId": "ef-late-1", "type": "identify", "anonymousId": "anon-everyformat-2",
                "timestamp": "2026-11-03T10:00:00Z",
                "traits": {"email": " Evi.Format+later@GMAIL.com", "phone": "+44 131 496 0958"}}]
        name = "everyformat-late"
    else:
        contacts = [
            _contact(header, hs_object_id=EVERYFORMAT_CONTACTS[0], firstname="Evi", lastname="Format",
                     email=" Evi.Format+crm@GoogleMail.com ", phone="0131 496 0958", mobilephone="+44 7400 123456",
                     country="Scotland"),
            _contact(header, hs_object_id=EVERYFORMAT_CONTACTS[1], firstname="EVI", lastname="FORMAT",
                     email="EVIFORMAT@GMAIL.COM", phone="+44 (0)131 496 0958", country="UK"),
        ]
        members = landing / "marketing" / "email_members" / "everyformat.csv"
        members.write_text("member_id,list_id,email_address,status,first_name,last_name,phone,timestamp_opt,last_changed\n"
                           "evifmt0000000000000000000000001,b7e4c2a91f,e.v.i.format+news@gmail.com,subscribed,Evi,Format,"
                           "0044 7400 123456,2026-05-01T10:00:00+00:00,2026-05-01T10:00:00+00:00\n")
        web = [{"messageId": "ef-1", "type": "identify", "anonymousId": "anon-everyformat", "timestamp": "2026-10-30T09:00:00Z",
                "traits": {"email": "evi.format@googlemail.com", "phone": "+441314960958"}},
               _event("ef-2", "anon-everyformat", "2026-10-30T10:00:00Z", "evi.format@googlemail.com",
                      {"ads": True, "email_marketing": True})]
        name = "everyformat"
    with open(landing / "crm" / "contacts" / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(contacts)
    (landing / "web" / "events" / f"{name}-{web[0]['timestamp'][:10]}.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in web))


def _event(mid, anon, ts, email, purposes, basis="consent"):
    return {"messageId": mid, "type": "track", "event": "Consent Updated", "anonymousId": anon,
            "timestamp": ts, "context": {"traits": {"email": email}},
            "properties": {"purposes": purposes, "lawful_basis": basis}}


@pytest.fixture(scope="module")
def gov(tmp_path_factory):
    from orchestration.demo.generator import generate
    from orchestration.runner import run_pipeline

    previous_home = os.environ.get("CDW_HOME")
    previous = {k: os.environ.get(k) for k in ("CDW_ERASURE_KEY", "CDW_CRM_API_URL", "CDW_CRM_API_TOKEN")}
    # the CRM (CRM API mode): the write-back pushes to it, erasures delete at it, the pull finds nothing new
    crm = FakeHubSpot()
    os.environ.update(CDW_ERASURE_KEY=KEY, CDW_CRM_API_URL=crm.url, CDW_CRM_API_TOKEN=TOKEN)
    home = tmp_path_factory.mktemp("cdw_gov")
    use_home(home)
    generate(home / "landing", people=PEOPLE, seed=SEED)
    people = _people_with_emails(home / "landing")
    assert len(people) >= 20
    conflicted, flipped, erased, requested = (people[i][1][0] for i in (0, 1, 2, 3))
    granted = [p[1][0] for p in people[4:14]]  # ads and analytics (profiling: the CRM write-back)
    # Web "Consent Updated" events (Segment track): the generator emits none, so they are written here.
    events = [
        # conflicted: two devices (two records of one merged profile). The newer grants ads, the
        # older withdraws it: each record keeps its latest, the profile the most restrictive.
        _event("c-1", "anon-conflict-new", "2026-10-30T10:00:00Z", conflicted, {"ads": True, "analytics": True}),
        _event("c-2", "anon-conflict-old", "2026-10-01T10:00:00Z", conflicted, {"ads": False}),
        # flipped: one device withdrew, then granted again: the latest event wins
        _event("f-1", "anon-flip", "2026-10-01T10:00:00Z", flipped, {"ads": False}),
        _event("f-2", "anon-flip", "2026-10-20T10:00:00Z", flipped, {"ads": True}, "legitimate_interest"),
        _event("e-1", "anon-erased", "2026-10-20T10:00:00Z", erased, {"ads": True, "analytics": True}),
        _event("r-1", "anon-requested", "2026-10-20T10:00:00Z", requested, {"ads": True}),
        *(_event(f"g-{i}", f"anon-granted-{i}", "2026-10-25T10:00:00Z", e, {"ads": True, "analytics": True})
          for i, e in enumerate(granted)),
    ]
    web = home / "landing" / "web" / "events"
    (web / "consent-2026-10-31.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    # events far past the web retention (400 days): purged on load
    old = [{"messageId": f"old-{i}", "type": "page", "anonymousId": f"anon-old-{i}", "timestamp": "2019-03-01T10:00:00Z",
            "context": {"page": {"path": "/old"}}} for i in range(5)]
    (web / "2019-03-01.jsonl").write_text("".join(json.dumps(e) + "\n" for e in old))
    _write_everyformat(home / "landing")
    # the CRM holds every contact the file drop delivers
    for export in (home / "landing" / "crm" / "contacts").glob("*.csv"):
        with open(export, newline="") as fh:
            crm.contacts.update({row["hs_object_id"]: {} for row in csv.DictReader(fh)})
    first = run_pipeline(log_level="WARNING")
    assert first.success
    yield type("Gov", (), dict(home=home, first=first, conflicted=conflicted, flipped=flipped, erased=erased,
                               requested=requested, granted=granted, crm=crm,
                               warehouse=home / "warehouse.duckdb"))
    crm.close()
    if previous_home:
        use_home(Path(previous_home))
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def sql(db: Path, query: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def customer_of(gov, email: str) -> str:
    rows = sql(gov.warehouse, "SELECT DISTINCT m.customer_id FROM intermediate.int_identity_records r "
                              "JOIN marts.customer_source_records m USING (record_key) WHERE r.email = ?", [email])
    assert len(rows) == 1, email
    return rows[0][0]


def test_consent_ledger_latest_event_wins_and_most_restrictive_on_merge(gov):
    conflicted, flipped = customer_of(gov, gov.conflicted), customer_of(gov, gov.flipped)
    ledger = {(c, p): (s, b, src) for c, p, s, b, src in sql(
        gov.warehouse, "SELECT customer_id, purpose, consent_status, lawful_basis, decided_by_signal FROM marts.consent_ledger")}
    # merged profile: one device grants (newer), one withdraws (older) -> most restrictive
    assert ledger[(conflicted, "ads")][0] == "withdrawn"
    assert sql(gov.warehouse, "SELECT has_conflicting_records FROM marts.consent_ledger WHERE customer_id = ? AND purpose = 'ads'",
               [conflicted]) == [(True,)]
    assert ledger[(conflicted, "analytics")][0] == "granted"
    # one record: withdrew then granted -> latest wins, with its lawful basis and source
    assert ledger[(flipped, "ads")] == ("granted", "legitimate_interest", "web.consent_updated")
    # every customer has a row per purpose
    (n_customers,) = sql(gov.warehouse, "SELECT count(*) FROM marts.customers")[0]
    assert sql(gov.warehouse, "SELECT count(*) FROM marts.consent_ledger")[0][0] == 3 * n_customers
    # the customer mart's consent columns are the ledger's, for every purpose
    assert sql(gov.warehouse, """SELECT count(*) FROM marts.consent_ledger l JOIN marts.customers c USING (customer_id)
               WHERE l.has_consent <> CASE l.purpose WHEN 'email_marketing' THEN c.email_marketing_consent
                                                     WHEN 'ads' THEN c.ads_consent ELSE c.analytics_consent END""")[0][0] == 0


def test_ad_exports_contain_exactly_the_people_with_ads_consent(gov):
    from orchestration.governance.hashing import hashed

    exports = gov.home / "exports"
    google = list(csv.DictReader(open(exports / "google_customer_match" / "google_customer_match.csv")))
    meta = list(csv.DictReader(open(exports / "meta_custom_audience" / "meta_custom_audience.csv")))
    consented = sql(gov.warehouse, """SELECT c.email, c.phone FROM marts.customers c JOIN marts.consent_ledger l
                    USING (customer_id) WHERE l.purpose = 'ads' AND l.has_consent""")
    assert len(google) == len(meta) == len(consented) >= 8
    google_emails = {r["Email"] for r in google}
    meta_emails = {r["email"] for r in meta}
    for email, _ in consented:
        assert hashed("google_customer_match", "email", email) in google_emails
        assert hashed("meta_custom_audience", "email", email) in meta_emails
    for withheld in (gov.conflicted,):
        assert hashed("meta_custom_audience", "email", withheld) not in meta_emails
    assert hashed("meta_custom_audience", "email", gov.flipped) in meta_emails
    for name in ("google_customer_match", "meta_custom_audience"):
        manifest = json.loads((exports / name / f"{name}.manifest.json").read_text())
        assert manifest["consent_purpose"] == "ads" and manifest["run_id"] == gov.first.run_id
        assert manifest["gate_results"]["marts/customers:gx_customers"] == "passed"


def crm_contacts_of(gov, customer: str) -> set[str]:
    return {r[0] for r in sql(gov.warehouse, "SELECT source_record_id FROM marts.customer_source_records "
                                             "WHERE source = 'crm_contacts' AND customer_id = ?", [customer])}


def crm_writeback_metadata(result) -> dict:
    (mat,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "exports/crm_writeback"]
    return {k: v.value for k, v in mat.materialization.metadata.items()}


def test_crm_writeback_pushes_only_people_with_analytics_consent(gov):
    from orchestration.governance import audit

    pushed = {cid for cid, props in gov.crm.contacts.items() if props.get("cdw_customer_id")}
    consenting = {r[0] for r in sql(gov.warehouse, """SELECT m.source_record_id FROM marts.customer_source_records m
                  JOIN marts.consent_ledger l USING (customer_id)
                  WHERE m.source = 'crm_contacts' AND l.purpose = 'analytics' AND l.has_consent""")}
    assert pushed == consenting and len(pushed) >= 10
    assert crm_contacts_of(gov, customer_of(gov, gov.granted[0])) <= pushed
    assert not crm_contacts_of(gov, customer_of(gov, gov.requested)) & pushed  # ads consent only
    (contacts,) = sql(gov.warehouse, "SELECT count(*) FROM marts.customer_source_records WHERE source = 'crm_contacts'")[0]
    meta = crm_writeback_metadata(gov.first)
    assert meta["sent"] == len(pushed) and meta["withheld_without_consent"] == contacts - len(pushed)
    (entry,) = [e for e in audit.entries("data_export") if e["target"] == "crm_writeback"]
    assert entry["consent_purpose"] == "analytics" and entry["rows"] == len(pushed)


def test_retention_purges_old_raw_web_events(gov):
    assert sql(gov.warehouse, "SELECT count(*) FROM raw.web_events WHERE payload LIKE '%anon-old-%'")[0][0] == 0
    (oldest,) = sql(gov.warehouse, "SELECT min(try_cast(json_extract_string(payload, '$.timestamp') AS TIMESTAMPTZ)) "
                                   "FROM raw.web_events")[0]
    assert oldest.year >= 2025
    from orchestration.governance import audit

    purges = [e for e in audit.entries("retention_purge") if e["target"] == "raw.web_events"]
    assert purges and purges[0]["rows"] == 5 and purges[0]["retention_days"] == 400


def test_access_export_holds_everything_about_a_known_person(gov, capsys):
    from orchestration.cli import main

    customer = customer_of(gov, gov.flipped)
    assert main(["access", gov.flipped.upper()]) == 0
    path = Path(capsys.readouterr().out.strip().rsplit(" ", 1)[-1])
    doc = json.loads(path.read_text())
    assert doc["customer_ids"] == [customer]
    assert doc["profile"][0]["customer_id"] == customer
    records = sql(gov.warehouse, "SELECT source, source_record_id FROM marts.customer_source_records WHERE customer_id = ?", [customer])
    assert len(doc["source_records"]["mapping"]) == len(records)
    assert any(r["email"] == gov.flipped for r in doc["source_records"]["crm_contacts"])
    assert {e["message_id"] for e in doc["events"]["web"]} >= {"f-1", "f-2"}
    ledger = {c["purpose"]: c["consent_status"] for c in doc["consents"]["ledger"]}
    assert ledger["ads"] == "granted"
    assert "ad_audience" in doc["marts"] and "customer_rfm" in doc["marts"]
    assert {e["destination"] for e in doc["exports"]} >= {"google_customer_match", "meta_custom_audience"}
    from orchestration.governance import audit

    assert audit.entries("access_export")[-1]["target"] == doc["access_id"]


def test_snapshot_masks_pii_by_default_and_full_pii_is_opt_in(gov, tmp_path, monkeypatch):
    from orchestration.governance import snapshot

    snap = gov.home / "analytics.duckdb"
    emails = [e for (e,) in sql(snap, "SELECT email FROM marts.customers WHERE email IS NOT NULL")]
    assert emails and all(e.startswith("pii_") for e in emails)
    assert all(n.startswith("pii_") for (n,) in sql(snap, "SELECT first_name FROM marts.customers WHERE first_name IS NOT NULL"))
    # joinable: the same value masks the same way in every table
    assert sql(snap, "SELECT count(*) FROM marts.email_audience a JOIN marts.customers c USING (customer_id) "
                     "WHERE a.email <> c.email")[0][0] == 0
    # non-PII columns stay usable
    assert sql(snap, "SELECT count(*) FROM marts.customers")[0][0] == sql(gov.warehouse, "SELECT count(*) FROM marts.customers")[0][0]
    monkeypatch.setenv("CDW_SNAPSHOT_PII", "full")
    result = snapshot.publish(target=tmp_path / "full.duckdb")
    assert result["pii_mode"] == "full" and not result["masked_columns"]
    assert sql(tmp_path / "full.duckdb", "SELECT count(*) FROM marts.customers WHERE email LIKE '%@%'")[0][0] > 0


def test_cdw_sql_reads_the_snapshot(gov, capsys):
    from orchestration.cli import main

    assert main(["sql", "SELECT email FROM marts.customers WHERE email IS NOT NULL LIMIT 1"]) == 0
    assert "pii_" in capsys.readouterr().out
    assert main(["sql", "--warehouse", "SELECT email FROM marts.customers WHERE email IS NOT NULL LIMIT 1"]) == 0
    assert "@" in capsys.readouterr().out


def test_erasure_refuses_without_a_key(gov, monkeypatch, capsys):
    from orchestration.cli import main
    from orchestration.governance.erasure import erasure_count

    monkeypatch.delenv("CDW_ERASURE_KEY")
    assert main(["erase", "--no-run", gov.erased]) == 2
    assert "CDW_ERASURE_KEY is not set" in capsys.readouterr().err
    assert erasure_count() == 0


READER = """
import json, sys, time, io, contextlib
from pathlib import Path
from orchestration.cli import main
stop = Path(sys.argv[1])
ok = errors = 0
messages = []
while not stop.exists():
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(["sql", "SELECT count(*) FROM marts.customers"])
    if rc == 0:
        ok += 1
    else:
        errors += 1
        messages.append(err.getvalue()[:200])
    time.sleep(0.05)
print(json.dumps({"ok": ok, "errors": errors, "messages": messages[:5]}))
"""


def _files_mentioning(root: Path, needle: str, skip=("landing", "dagster")) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and p.relative_to(root).parts[0] not in skip and needle.encode() in p.read_bytes():
            hits.append(str(p.relative_to(root)))
    return hits


def test_erasure_end_to_end_while_analysts_query_the_snapshot(gov, tmp_path, monkeypatch):
    from orchestration.cli import main
    from orchestration.governance import audit, crm_erasure
    from orchestration.governance.erasure import scan
    from orchestration.governance.hashing import hashed

    customer = customer_of(gov, gov.erased)
    contacts = crm_contacts_of(gov, customer)
    assert contacts and contacts <= gov.crm.contacts.keys()
    # CRM API mode: the person is GDPR-deleted at the source too; the CRM rate-limits the first try
    monkeypatch.setenv("CDW_CRM_API_URL", gov.crm.url)
    monkeypatch.setenv("CDW_CRM_API_TOKEN", TOKEN)
    gov.crm.fail_path[GDPR_DELETE] = [429]
    meta_hash = hashed("meta_custom_audience", "email", gov.erased)
    assert meta_hash in (gov.home / "exports/meta_custom_audience/meta_custom_audience.csv").read_text()
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], stdout=subprocess.PIPE, text=True,
                              env=os.environ.copy())
    try:
        time.sleep(1.0)
        assert main(["erase", gov.erased, "--log-level", "ERROR"]) == 0  # records, scrubs, runs, scans
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["errors"] == 0, stats["messages"]
    assert stats["ok"] >= 10
    # nothing of the person anywhere: every table and file, by keyed hash and in clear
    assert scan()["findings"] == {}
    assert sql(gov.warehouse, "SELECT count(*) FROM marts.customers WHERE customer_id = ?", [customer]) == [(0,)]
    assert sql(gov.warehouse, "SELECT count(*) FROM raw.crm_contacts WHERE lower(email) = ?", [gov.erased]) == [(0,)]
    assert sql(gov.warehouse, "SELECT count(*) FROM raw.web_events WHERE payload LIKE '%anon-erased%'") == [(0,)]
    assert _files_mentioning(gov.home, gov.erased) == []
    assert _files_mentioning(gov.home, customer) == []
    assert _files_mentioning(gov.home, meta_hash) == []
    # the ledger holds keyed hashes only
    ledger = (gov.home / "governance" / "tombstones.jsonl").read_text()
    assert gov.erased not in ledger and meta_hash not in ledger
    # deleted at the CRM with HubSpot's GDPR delete, after the 429 was retried
    assert set(gov.crm.gdpr_deleted) == contacts and not contacts & gov.crm.contacts.keys()
    assert {"objectId": min(contacts)} in gov.crm.gdpr_bodies and 429 in gov.crm.calls
    assert crm_erasure.pending() == {}
    (outcome,) = audit.entries("crm_erasure")
    assert (outcome["status"], outcome["rows"], outcome["contacts_pending"]) == ("deleted", len(contacts), 0)
    assert outcome["target"] == audit.entries("erasure")[-1]["target"]  # under the erasure id


def test_erasure_holds_when_the_warehouse_is_rebuilt_from_scratch(gov):
    from orchestration.governance.erasure import scan
    from orchestration.runner import run_pipeline

    # the old source files are all still in landing/: a rebuild reloads them
    assert gov.erased in (gov.home / "landing/crm/contacts/contacts.csv").read_text()
    gov.warehouse.unlink()
    (gov.home / "analytics.duckdb").unlink()
    shutil.rmtree(gov.home / "exports")
    result = run_pipeline(log_level="WARNING")
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "governance/erasure_verification" in materialized
    assert scan()["findings"] == {}
    assert sql(gov.warehouse, "SELECT count(*) FROM staging.stg_crm__contacts WHERE email = ?", [gov.erased]) == [(0,)]
    assert _files_mentioning(gov.home, gov.erased) == []
    # everyone else is back
    assert sql(gov.warehouse, "SELECT count(*) FROM staging.stg_crm__contacts WHERE email = ?", [gov.flipped]) == [(1,)]


def test_erasure_request_file_is_picked_up_by_the_sensor(gov, monkeypatch):
    import dagster as dg

    from orchestration.defs.automation import erasure_requests_sensor
    from orchestration.governance import crm_erasure
    from orchestration.governance.hashing import hashed
    from orchestration.governance.ledger import erasure_count

    monkeypatch.setenv("CDW_CRM_API_URL", gov.crm.url)
    monkeypatch.setenv("CDW_CRM_API_TOKEN", TOKEN)
    gov.requested_contacts = crm_contacts_of(gov, customer_of(gov, gov.requested))
    assert gov.requested_contacts
    before = erasure_count()
    meta_file = gov.home / "exports/meta_custom_audience/meta_custom_audience.csv"
    assert hashed("meta_custom_audience", "email", gov.requested) in meta_file.read_text()
    requests = gov.home / "landing" / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    (requests / "ticket-123.json").write_text(json.dumps({"identifier": gov.requested}))
    with dg.instance_for_test() as instance:
        result = erasure_requests_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult), result
    assert len(result.run_requests) == 1 and isinstance(result.run_requests[0], dg.RunRequest)
    assert erasure_count() == before + 1
    assert not (requests / "ticket-123.json").exists()  # the request held the identifier
    # published files are scrubbed at once, before the run the sensor requests
    assert hashed("meta_custom_audience", "email", gov.requested) not in meta_file.read_text()
    manifest = json.loads((gov.home / "exports/meta_custom_audience/meta_custom_audience.manifest.json").read_text())
    assert manifest["rows"] == len(meta_file.read_text().splitlines()) - 1
    assert "scrubbed_by_erasure_at" in manifest
    # the CRM deletion is queued for the run, under the erasure id, the contact ids sealed
    (queued,) = crm_erasure.pending().values()
    assert queued["sealed_contacts"] == len(gov.requested_contacts) and queued["attempts"] == 0
    queue_text = crm_erasure.queue_path().read_text()
    assert not any(c in queue_text for c in gov.requested_contacts) and gov.requested not in queue_text


def test_crm_outage_keeps_the_deletion_pending_and_withdrawn_consent_is_cleared(gov, monkeypatch):
    """The CRM refuses GDPR deletes (503) in the run the sensor asked for, and one person withdrew
    analytics consent since the last run: the run fails naming the pending deletion, which stays
    queued; the write-back empties the CDP properties of the person who withdrew."""
    from orchestration.defs.exports.crm import CDW_PROPERTIES
    from orchestration.governance import audit, crm_erasure
    from orchestration.runner import run_pipeline

    monkeypatch.setenv("CDW_CRM_API_URL", gov.crm.url)
    monkeypatch.setenv("CDW_CRM_API_TOKEN", TOKEN)
    (erasure_id,) = crm_erasure.pending()
    withdrawer = customer_of(gov, gov.granted[0])
    withdrawn_contacts = crm_contacts_of(gov, withdrawer)
    assert withdrawn_contacts and all(gov.crm.contacts[c]["cdw_customer_id"] == withdrawer for c in withdrawn_contacts)
    (gov.home / "landing" / "web" / "events" / "consent-2026-11-02.jsonl").write_text(json.dumps(
        _event("w-1", "anon-granted-0", "2026-11-02T10:00:00Z", gov.granted[0], {"analytics": False})) + "\n")
    gov.crm.down.add(GDPR_DELETE)

    result = run_pipeline(log_level="ERROR")
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key.startswith("governance__crm_erasure")
    message = failure.event_specific_data.error.message
    assert "GDPR delete pending for 1 erasure(s)" in message and "HTTP 503" in message and "next run" in message
    assert not any(c in message for c in gov.requested_contacts)
    assert crm_erasure.pending()[erasure_id]["last_error"] == "HTTP 503"
    assert gov.requested_contacts <= gov.crm.contacts.keys()  # still at the CRM, not forgotten
    last = audit.entries("crm_erasure")[-1]
    assert (last["target"], last["status"], last["error"]) == (erasure_id, "pending", "HTTP 503")

    assert sql(gov.warehouse, "SELECT consent_status FROM marts.consent_ledger WHERE customer_id = ? AND purpose = 'analytics'",
               [withdrawer]) == [("withdrawn",)]
    meta = crm_writeback_metadata(result)
    assert meta["cleared"] == len(withdrawn_contacts)
    assert all(gov.crm.contacts[c] == {p: "" for p in CDW_PROPERTIES} for c in withdrawn_contacts)
    gov.outage_run = result


def test_next_run_completes_the_crm_deletion_and_sends_nothing_twice(gov, monkeypatch):
    from orchestration.governance import audit, crm_erasure
    from orchestration.runner import run_pipeline

    monkeypatch.setenv("CDW_CRM_API_URL", gov.crm.url)
    monkeypatch.setenv("CDW_CRM_API_TOKEN", TOKEN)
    (erasure_id,) = crm_erasure.pending()
    gov.crm.down.clear()  # the CRM is back
    result = run_pipeline(log_level="ERROR")
    assert result.success
    assert gov.requested_contacts <= set(gov.crm.gdpr_deleted) and not gov.requested_contacts & gov.crm.contacts.keys()
    assert crm_erasure.pending() == {}
    last = audit.entries("crm_erasure")[-1]
    assert (last["target"], last["status"], last["attempt"]) == (erasure_id, "deleted", 2)
    meta = crm_writeback_metadata(result)
    assert (meta["sent"], meta["cleared"]) == (0, 0)  # idempotent: the withdrawal was cleared once


def test_audit_log_records_erasures_and_exports_without_pii(gov):
    from orchestration.governance import audit

    text = (gov.home / "governance" / "audit.jsonl").read_text()
    for email in (gov.erased, gov.requested):
        assert email not in text
    erasures = audit.entries("erasure")
    assert [e["via"] for e in erasures] == ["cli", "request_file"]
    assert all(e["target"].startswith("era_") and e["customers"] == 1 for e in erasures)
    exports = audit.entries("data_export")
    assert {e["target"] for e in exports} >= {"email_audience", "google_customer_match", "meta_custom_audience"}
    assert all(e["run_id"] and e["rows"] is not None for e in exports if e["target"] != "crm_writeback")
    assert audit.entries("erasure_enforced")


def _rows_mentioning(db: Path, needles) -> dict[str, int]:
    """table.column -> rows whose text holds any needle (lower-cased), over every table of a DuckDB file."""
    hits = {}
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() JOIN duckdb_tables() "
                              "USING (database_name, schema_name, table_name) WHERE data_type IN ('VARCHAR', 'JSON') "
                              "AND database_name = current_database()").fetchall()
        for schema, table, column in columns:
            cond = " OR ".join(f"contains(lower(CAST(\"{column}\" AS VARCHAR)), ?)" for _ in needles)
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE {cond}', list(needles)).fetchone()[0]
            if n:
                hits[f"{schema}.{table}.{column}"] = n
    return hits


def test_erasure_of_a_person_in_every_format_the_sources_carry_leaves_nothing(gov):
    """Erased by one more spelling of their Gmail address, the person is gone from every table of
    the warehouse and the snapshot and from every export - also after the sources deliver them
    again (a national phone with the country as people type it, a new device with a +tag)."""
    from orchestration.cli import main
    from orchestration.governance.hashing import PLATFORMS, hashed
    from orchestration.governance.scan import scan
    from orchestration.runner import run_pipeline

    (customer,) = {r[0] for r in sql(gov.warehouse, "SELECT DISTINCT customer_id FROM intermediate.int_identity_records "
                                                    "JOIN marts.customer_source_records USING (record_key) "
                                                    "WHERE email_match_key = 'eviformat@gmail.com'")}
    records = {r[0] for r in sql(gov.warehouse, "SELECT record_key FROM marts.customer_source_records WHERE customer_id = ?",
                                 [customer])}
    assert {f"crm_contacts:{c}" for c in EVERYFORMAT_CONTACTS[:2]} <= records and len(records) >= 4
    (golden_email, golden_phone, iso2) = sql(gov.warehouse, "SELECT email, phone, country FROM marts.customers "
                                                            "WHERE customer_id = ?", [customer])[0]
    hashes = {hashed(p, "email", golden_email) for p in PLATFORMS} | {hashed(p, "phone", golden_phone, iso2) for p in PLATFORMS}
    exported = "".join(p.read_text() for p in (gov.home / "exports").rglob("*.csv"))
    assert customer in exported and hashes <= set(exported.replace(",", "\n").split())  # in the audiences before
    assert _rows_mentioning(gov.warehouse, EVERYFORMAT_NEEDLES)

    assert main(["erase", "--no-run", "E.V.I.FORMAT@gmail.com"]) == 0
    _write_everyformat(gov.home / "landing", late=True)
    result = run_pipeline(log_level="ERROR")
    assert result.success
    assert scan()["findings"] == {}
    needles = (*EVERYFORMAT_NEEDLES, customer)
    assert _rows_mentioning(gov.warehouse, needles) == {}
    assert _rows_mentioning(gov.home / "analytics.duckdb", needles) == {}
    assert sql(gov.warehouse, "SELECT count(*) FROM staging.stg_crm__contacts WHERE contact_id IN (990001, 990002) "
                              "OR phone_e164 IS NOT NULL AND contact_id = 990003") == [(0,)]
    exports = [p for p in (gov.home / "exports").rglob("*") if p.is_file()]
    assert exports
    for path in exports:
        text = path.read_text(encoding="utf-8", errors="replace").lower()
        assert not [n for n in (*needles, *hashes) if n in text], path.name
