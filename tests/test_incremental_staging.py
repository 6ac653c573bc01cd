"""Incremental staging of CRM contacts, email members and email events (macros/incremental_staging.sql): a run
re-stages only the records whose raw rows changed, and the result is the one a full rebuild gives -
newer versions win, older re-deliveries lose, new records appear, a record whose staged version left
raw (an erasure) falls back to the version raw still holds, a phone nulled in place in raw (an
erasure of a shared number) leaves staging, and a record no raw row is left of disappears."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dbt_fixtures import dbt_build, query, write_raw

MODELS = ("stg_crm__contacts", "stg_marketing__email_members", "stg_marketing__email_events")


def contact(cid: int, modified: str, **fields) -> dict:
    return {"hs_object_id": str(cid), "firstname": "Ann", "lastname": f"Lee{cid}", "email": f"ann{cid}@example.com",
            "phone": f"+1 415 555 01{cid:02d}", "country": "US", "jobtitle": "Analyst",
            "createdate": "2024-01-01T00:00:00Z", "lastmodifieddate": modified, **fields}


def email_event(eid: str, mid: str, kind: str = "open", **fields) -> dict:
    return {"event_id": eid, "campaign_id": "c1", "member_id": mid, "event_type": kind,
            "email_address": f"{mid}@example.com", "timestamp": "2024-02-01T00:00:00Z", **fields}


def member(mid: str, changed: str, **fields) -> dict:
    return {"member_id": mid, "email_address": f"{mid}@example.com", "status": "subscribed",
            "phone": "(415) 555-0199", "last_changed": changed, **fields}


def load(warehouse: Path, source: str, rows: list[dict], loaded_at: str, file: str) -> None:
    """Append rows to raw.<source> as a later load (the loader's lineage columns)."""
    with duckdb.connect(str(warehouse)) as con:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
            "AND column_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY ordinal_position", [source]).fetchall()]
        names = ", ".join(f'"{c}"' for c in columns)
        for line, row in enumerate(rows, start=2):
            con.execute(
                f"INSERT INTO raw.{source} ({names}, _file, _line, _load_id, _loaded_at) "
                f"VALUES ({', '.join('?' for _ in columns)}, ?, ?, ?, CAST(? AS TIMESTAMP))",
                [row.get(c) or None for c in columns] + [file, line, file, loaded_at])


def staged(warehouse: Path) -> dict[str, list[tuple]]:
    return {m: query(warehouse, f"SELECT * EXCLUDE (_loaded_at) FROM staging.{m} ORDER BY ALL") for m in MODELS}


def build(tmp: Path, warehouse: Path, *args: str) -> str:
    result = dbt_build(tmp, warehouse, None, "--select", " ".join(MODELS), *args)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def test_incremental_staging_equals_a_full_rebuild(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw(warehouse, {
        "crm_contacts": [contact(1, "2024-02-01T00:00:00Z"), contact(2, "2024-02-01T00:00:00Z"),
                         contact(3, "2024-01-15T00:00:00Z", jobtitle="Intern"),
                         contact(3, "2024-02-01T00:00:00Z", jobtitle="Manager"),
                         contact(5, "2024-02-01T00:00:00Z"), contact(6, "2024-02-01T00:00:00Z"),
                         contact(7, "2024-02-01T00:00:00Z")],
        "email_members": [member("m1", "2024-02-01T00:00:00Z"), member("m2", "2024-02-01T00:00:00Z"),
                          member("m4", "2024-02-01T00:00:00Z"), member("m5", "2024-02-01T00:00:00Z")],
        "email_events": [email_event("e1", "m1"), email_event("e2", "m2"), email_event("e3", "m5"),
                         email_event("e4", "m4", "click", url="https://example.com/a")],
    }, loaded_at="2024-03-01 00:00:00")
    build(tmp_path, warehouse)
    assert query(warehouse, "SELECT phone_e164 FROM staging.stg_crm__contacts WHERE contact_id = 5") == [("+14155550105",)]

    # a later delivery: a newer version of 1, an older re-delivery of 2 (must lose), a new contact
    load(warehouse, "crm_contacts", [contact(1, "2024-03-01T00:00:00Z", jobtitle="Director"),
                                     contact(2, "2024-01-01T00:00:00Z", jobtitle="Old title"),
                                     contact(4, "2024-03-01T00:00:00Z")], "2024-03-02 00:00:00", "crm_contacts/delta.csv")
    load(warehouse, "email_members", [member("m1", "2024-03-01T00:00:00Z", status="unsubscribed"),
                                      member("m3", "2024-03-01T00:00:00Z")], "2024-03-02 00:00:00", "email_members/delta.csv")
    # a new event, and e1 re-delivered (the first delivery wins)
    load(warehouse, "email_events", [email_event("e5", "m3", "click"), email_event("e1", "m1", "click")],
         "2024-03-02 00:00:00", "email_events/delta.csv")
    with duckdb.connect(str(warehouse)) as con:
        # contact 3's staged version (Manager) leaves raw, its older version (Intern) stays
        con.execute("DELETE FROM raw.crm_contacts WHERE hs_object_id = '3' AND jobtitle = 'Manager'")
        # contact 5's phone is nulled in place (same row, same load): no new row says so
        con.execute("UPDATE raw.crm_contacts SET phone = NULL WHERE hs_object_id = '5'")
        con.execute("UPDATE raw.email_members SET phone = NULL WHERE member_id = 'm4'")
        # contact 6 and member m5 leave raw altogether
        con.execute("DELETE FROM raw.crm_contacts WHERE hs_object_id = '6'")
        con.execute("DELETE FROM raw.email_members WHERE member_id = 'm5'")
        con.execute("DELETE FROM raw.email_events WHERE member_id = 'm5'")  # erased with m5
        con.execute("UPDATE raw.email_events SET url = NULL WHERE event_id = 'e4'")  # changed in place
        con.execute("UPDATE staging.stg_marketing__email_events SET url = 'untouched' WHERE email_event_id = 'e2'")
        # a mark on records whose raw rows did not change: an incremental build leaves them alone
        con.execute("UPDATE staging.stg_crm__contacts SET city = 'untouched' WHERE contact_id = 7")
        con.execute("UPDATE staging.stg_marketing__email_members SET list_id = 'untouched' WHERE member_id = 'm2'")
    build(tmp_path, warehouse)
    assert query(warehouse, "SELECT city FROM staging.stg_crm__contacts WHERE contact_id = 7") == [("untouched",)]
    assert query(warehouse, "SELECT list_id FROM staging.stg_marketing__email_members WHERE member_id = 'm2'") == [("untouched",)]
    titles = dict(query(warehouse, "SELECT contact_id, job_title FROM staging.stg_crm__contacts"))
    assert titles == {"1": "Director", "2": "Analyst", "3": "Intern", "4": "Analyst", "5": "Analyst", "7": "Analyst"}
    assert dict(query(warehouse, "SELECT member_id, status FROM staging.stg_marketing__email_members")) == {
        "m1": "unsubscribed", "m2": "subscribed", "m3": "subscribed", "m4": "subscribed"}
    assert query(warehouse, "SELECT url FROM staging.stg_marketing__email_events WHERE email_event_id = 'e2'") == [("untouched",)]
    assert query(warehouse, "SELECT email_event_id, event_type, url FROM staging.stg_marketing__email_events ORDER BY 1") == [
        ("e1", "open", None), ("e2", "open", "untouched"), ("e4", "click", None), ("e5", "click", None)]
    assert query(warehouse, "SELECT phone_raw, phone_e164 FROM staging.stg_crm__contacts WHERE contact_id = 5") == [(None, None)]
    assert query(warehouse, "SELECT phone_raw, phone_e164 FROM staging.stg_marketing__email_members WHERE member_id = 'm4'") == [(None, None)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE staging.stg_crm__contacts SET city = NULL WHERE contact_id = 7")
        con.execute("UPDATE staging.stg_marketing__email_members SET list_id = NULL WHERE member_id = 'm2'")
        con.execute("UPDATE staging.stg_marketing__email_events SET url = NULL WHERE email_event_id = 'e2'")
    incremental = staged(warehouse)

    build(tmp_path, warehouse, "--full-refresh")
    assert staged(warehouse) == incremental
